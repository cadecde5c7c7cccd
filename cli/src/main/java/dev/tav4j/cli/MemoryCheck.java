package dev.tav4j.cli;

import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.plan.MemoryPlan;
import dev.tav4j.runtime.HostMemory;
import dev.tav4j.runtime.HostMemoryPool;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.StepLoop;

import java.nio.file.Path;
import java.util.Locale;

/**
 * The memory plan of a computing command, checked before it loads anything (host memory on the cpu backend, device
 * memory on cuda), and its measured peak at the end.
 */
final class MemoryCheck {
    private MemoryCheck() {}

    /**
     * Plans {@code work} on {@code ops}' backend and refuses it in one line when it cannot fit what is free; prints the
     * plan. A plan that fails for another reason (a model feature the planning backend cannot follow) is reported in
     * one line and the run goes on unchecked (null): the check must never be what stops a run that would work.
     */
    static MemoryPlan before(Ops ops, MemoryPlan.Models models, MemoryPlan.Workload work) {
        return before(ops, models, work, false);
    }

    /**
     * As above; {@code modelResident}: a model kept loaded from an earlier job already holds its weights (tav batch), so
     * they are counted as available: it is reused, or closed before another loads.
     */
    static MemoryPlan before(Ops ops, MemoryPlan.Models models, MemoryPlan.Workload work, boolean modelResident) {
        MemoryPlan plan;
        try {
            plan = MemoryPlan.estimate(models, work, backend(ops));
            long free = freeBytes(ops);
            plan = plan.withFree(modelResident && free >= 0 ? free + plan.weightBytes() : free);
        } catch (RuntimeException e) {
            System.err.println("memory: not planned (" + Errors.describe(e) + "); the run goes on without the check");
            return null;
        }
        plan.requireFits();
        System.err.println("memory: " + plan.line());
        return plan;
    }

    /** The models of a checkpoint (its UNet, or the tuned UNet folder's config when one is given). */
    static MemoryPlan.Models models(CheckpointDir ckpt, Path tunedUnet) {
        return new MemoryPlan.Models(tunedUnet != null ? CheckpointDir.unetFolderConfig(tunedUnet) : ckpt.unetConfig(),
                ckpt.vaeConfig(), ckpt.textConfig());
    }

    /** How {@code ops} holds tensors: host memory (cpu), or a device in its precision, capturing steps unless graphs are off. */
    static MemoryPlan.Backend backend(Ops ops) {
        return ops.computesOnHost() ? MemoryPlan.Backend.cpu()
                : MemoryPlan.Backend.cuda(ops.precision(), ops.capturesSteps() && StepLoop.graphsByDefault());
    }

    /** What the run may use: the machine's available memory on the cpu, the device's free memory otherwise (-1: unknown). */
    static long freeBytes(Ops ops) {
        return ops.computesOnHost() ? HostMemory.availableBytes() : ops.freeDeviceBytes();
    }

    /**
     * One line with the peak the run reached: on the cpu the process's peak resident memory (where the system reports
     * it), the weights as F32 and the peak of host tensor memory (weights converted at load plus activations; mapped
     * weights are not in it); on a device the pool's peak in use beside the plan's.
     */
    static void after(MemoryPlan plan, Ops ops) {
        if (plan == null) return;
        if (!ops.computesOnHost()) {
            long peak = ops.peakDeviceBytes();
            if (peak >= 0)
                System.err.printf(Locale.ROOT, "peak device memory %d MiB in use (planned %d MiB)%n", peak >> 20, plan.peakBytes() >> 20);
            return;
        }
        long peak = HostMemory.peakRssBytes();
        if (peak < 0) return;
        System.err.println("peak RSS " + (peak >> 20) + " MiB (weights " + (plan.weightBytes() >> 20) + " MiB as F32, host tensors "
                + (HostMemoryPool.GLOBAL.peakLiveBytes() >> 20) + " MiB at most), planned about " + (plan.needBytes() >> 20) + " MiB");
    }
}
