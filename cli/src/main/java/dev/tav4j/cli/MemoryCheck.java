package dev.tav4j.cli;

import dev.tav4j.model.pipeline.HostMemoryPlan;
import dev.tav4j.runtime.HostMemory;
import dev.tav4j.runtime.HostMemoryPool;
import dev.tav4j.runtime.Ops;

import java.nio.file.Path;

/** The host-memory plan of a computing command (checked before loading on the cpu backend) and its peak at the end. */
final class MemoryCheck {
    private MemoryCheck() {}

    /** On the cpu backend: estimates the run's host memory and refuses it when it cannot fit; null on other backends. */
    static HostMemoryPlan before(Ops ops, Path model, Path tunedUnet, HostMemoryPlan.Workload work) {
        return ops.computesOnHost() ? before(ops, dev.tav4j.model.io.CheckpointDir.open(model), tunedUnet, work) : null;
    }

    static HostMemoryPlan before(Ops ops, dev.tav4j.model.io.CheckpointDir model, Path tunedUnet, HostMemoryPlan.Workload work) {
        if (!ops.computesOnHost()) return null;
        HostMemoryPlan plan = HostMemoryPlan.estimate(model, tunedUnet, work).requireFits();
        System.err.println("memory: " + plan);
        return plan;
    }

    /**
     * One line with the process's peak resident memory (where the system reports it), the weights as F32 and the
     * peak of host tensor memory (weights converted at load plus activations; mapped weights are not in it).
     */
    static void after(HostMemoryPlan plan) {
        long peak = HostMemory.peakRssBytes();
        if (peak < 0 || plan == null) return;
        System.err.println("peak RSS " + (peak >> 20) + " MiB (weights " + (plan.weightBytes() >> 20) + " MiB as F32, host tensors "
                + (HostMemoryPool.GLOBAL.peakLiveBytes() >> 20) + " MiB at most)");
    }
}
