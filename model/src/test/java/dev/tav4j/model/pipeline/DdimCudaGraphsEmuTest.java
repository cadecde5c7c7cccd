package dev.tav4j.model.pipeline;

import dev.tav4j.model.Emulation;
import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.emulation.EmulatedDeviceApi;
import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.sched.DdimScheduler;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.DeviceOutOfMemoryException;
import dev.tav4j.runtime.device.DevicePool;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static dev.tav4j.model.pipeline.EmuModels.FRAMES;
import static dev.tav4j.model.pipeline.EmuModels.LATENT;
import static dev.tav4j.model.pipeline.EmuModels.TEXT_DIM;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DDIM inversion and guided editing with each step captured as a graph and replayed, on the CUDA backend over the
 * host emulation: bit-identical to the same loops launched op by op (the same kernels with the same arguments in
 * the same order), close to the cpu backend, and an out-of-device-memory failure mid-run that leaves the device
 * pool as it was and a CPU run still possible.
 */
class DdimCudaGraphsEmuTest {
    private static final int STEPS = 3;

    private record Inputs(Tensor latents, Tensor empty, Tensor cond) implements AutoCloseable {
        static Inputs host() {
            Gaussian g = new Gaussian(11);
            return new Inputs(g.tensor(FRAMES, LATENT, LATENT, 4), g.tensor(1, 77, TEXT_DIM), g.tensor(1, 77, TEXT_DIM));
        }

        Inputs on(Ops ops) { return new Inputs(ops.upload(latents), ops.upload(empty), ops.upload(cond)); }

        @Override public void close() { latents.close(); empty.close(); cond.close(); }
    }

    /** Inversion then guided sampling; records, after each step, the bytes the device pool holds for graphs. */
    private static float[][] run(Ops ops, UNet3D unet, Inputs in, boolean graphs, List<Long> graphBytes) {
        DevicePool pool = ops instanceof CudaOps c && c.device() instanceof EmulatedDeviceApi e ? e.pool() : null;
        Progress watch = (stage, step, total) -> graphBytes.add(pool == null ? 0 : pool.graphBytes());
        DdimScheduler sched = new DdimScheduler(SchedulerConfig.defaults(), STEPS);
        try (Tensor inv = Ddim.invert(unet, sched, in.latents(), FRAMES, in.empty(), STEPS, watch, graphs);
             Tensor edited = Ddim.sample(unet, sched, inv, FRAMES, in.empty(), in.cond(), 7.5f, watch, graphs);
             Tensor hi = ops.download(inv); Tensor he = ops.download(edited)) {
            return new float[][] {hi.toArray(), he.toArray()};
        }
    }

    @Test
    void capturedLoopsEqualUncapturedBitForBitAndTheCpuBackendWithinTolerance() {
        EmuModels.requireEmulation();
        float[][] cpu, graphed, eager;
        List<Long> withGraphs = new ArrayList<>(), without = new ArrayList<>();
        try (Inputs host = Inputs.host()) {
            Ops c = new CpuOps();
            try (UNet3D unet = new UNet3D(c, EmuModels.smallUnet(TEXT_DIM), new RandomWeights("unet", 3))) {
                cpu = run(c, unet, host, true, new ArrayList<>());
            }
            try (EmulatedDeviceApi api = Emulation.device(); CudaOps ops = new CudaOps(api, "cuda-emu");
                 UNet3D unet = new UNet3D(ops, EmuModels.smallUnet(TEXT_DIM), new RandomWeights("unet", 3));
                 Inputs in = host.on(ops)) {
                graphed = run(ops, unet, in, true, withGraphs);
                eager = run(ops, unet, in, false, without);
                assertEquals(0, api.pool().graphBytes(), "graphs closed at the end of each loop");
                api.pool().checkConsistent();
            }
        }
        assertArrayEquals(eager[0], graphed[0], "inverted latents: replayed graphs vs op-by-op launches");
        assertArrayEquals(eager[1], graphed[1], "edited latents: replayed graphs vs op-by-op launches");
        // per loop: step 1 eager (warm-up), steps 2.. replayed from the graph captured at step 2
        assertEquals(0L, withGraphs.get(0), "step 1 of the inversion runs uncaptured");
        for (int i = 1; i < STEPS; i++) {
            assertTrue(withGraphs.get(i) > 0, "inversion step " + (i + 1) + " replays a graph");
            assertTrue(withGraphs.get(STEPS + i) > 0, "editing step " + (i + 1) + " replays a graph");
        }
        assertTrue(without.stream().allMatch(b -> b == 0), "--no-cuda-graphs captures nothing: " + without);
        // cuda (fp32 kernels) vs the cpu reference: the forward target 1e-4 of docs/semantics.md, over 3 + 3 steps of a tiny model
        double ei = relErr(graphed[0], cpu[0]), ee = relErr(graphed[1], cpu[1]);
        System.out.printf(Locale.ROOT, "graphs: inverted rel-err vs cpu %.1e, edited %.1e; identical to uncaptured%n", ei, ee);
        assertTrue(ei <= 1e-4 && ee <= 1e-4, "vs cpu: inverted " + ei + ", edited " + ee);
    }

    @Test
    void outOfDeviceMemoryMidRunIsClearLeavesThePoolAsItWasAndTheCpuStillRuns() {
        EmuModels.requireEmulation();
        try (Inputs host = Inputs.host()) {
            // measure, on an unlimited emulated device, what the weights and the loop's peak take
            long before, peak;
            try (EmulatedDeviceApi api = Emulation.device(); CudaOps ops = new CudaOps(api, "cuda-emu");
                 UNet3D unet = new UNet3D(ops, EmuModels.smallUnet(TEXT_DIM), new RandomWeights("unet", 3));
                 Inputs in = host.on(ops)) {
                before = api.pool().inUseBytes();
                api.pool().resetPeak();
                DdimScheduler sched = new DdimScheduler(SchedulerConfig.defaults(), STEPS);
                Ddim.sample(unet, sched, in.latents(), FRAMES, in.empty(), in.cond(), 7.5f, Progress.NONE, true).close();
                peak = api.pool().peakInUseBytes();
            }
            // a device with room for the weights but only half of what a step adds: the first step cannot fit
            long cap = before + (peak - before) / 2;
            try (EmulatedDeviceApi api = Emulation.device(cap); CudaOps ops = new CudaOps(api, "cuda-emu");
                 UNet3D unet = new UNet3D(ops, EmuModels.smallUnet(TEXT_DIM), new RandomWeights("unet", 3));
                 Inputs in = host.on(ops)) {
                try (Tensor t = ops.allocate(1, 2, 2, 4); Tensor g = ops.allocate(4)) {
                    ops.groupNorm(t, 2, 1, g, g, 1e-5f, false, t);  // values irrelevant: creates the workspace
                }
                long held = api.pool().inUseBytes();  // with the backend's GroupNorm workspace (kept for its lifetime)
                DdimScheduler sched = new DdimScheduler(SchedulerConfig.defaults(), STEPS);
                DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class,
                        () -> Ddim.sample(unet, sched, in.latents(), FRAMES, in.empty(), in.cond(), 7.5f, Progress.NONE, true));
                String m = e.getMessage();
                System.out.println("emulated device of " + cap + " bytes: " + m);
                assertTrue(m.contains("F32 tensor [") && m.contains("in guided DDIM step 1 of " + STEPS), "says what and where: " + m);
                assertTrue(m.contains("asked for") && m.contains("in use") && m.contains(DeviceOutOfMemoryException.ADVICE), m);
                assertEquals(held, api.pool().inUseBytes(), "every tensor of the failed step was released");
                assertEquals(0, api.pool().graphBytes());
                api.pool().checkConsistent();
            }
            // the same job on the cpu backend in this JVM
            Ops cpu = new CpuOps();
            try (UNet3D unet = new UNet3D(cpu, EmuModels.smallUnet(TEXT_DIM), new RandomWeights("unet", 3))) {
                DdimScheduler sched = new DdimScheduler(SchedulerConfig.defaults(), STEPS);
                try (Tensor out = Ddim.sample(unet, sched, host.latents(), FRAMES, host.empty(), host.cond(), 7.5f, Progress.NONE)) {
                    for (float v : out.toArray()) assertTrue(Float.isFinite(v), "cpu run after the device failure");
                }
            }
        }
    }

    private static double relErr(float[] got, float[] ref) {
        double err = 0, scale = 0;
        for (int i = 0; i < ref.length; i++) {
            if (!Float.isFinite(got[i])) return Double.POSITIVE_INFINITY;
            err = Math.max(err, Math.abs(got[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        return err / Math.max(scale, 1e-30);
    }
}
