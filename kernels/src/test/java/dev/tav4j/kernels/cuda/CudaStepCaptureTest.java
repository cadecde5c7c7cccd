package dev.tav4j.kernels.cuda;

import dev.tav4j.emulation.EmulatedDeviceApi;
import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.StepGraph;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.DeviceOutOfMemoryException;
import dev.tav4j.runtime.device.DevicePool;
import dev.tav4j.runtime.device.StepCaptureException;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Step capture on the emulated device: a recorded step replays exactly what the same ops do run one by one (same
 * kernels in the same order, so bit-identical), takes its per-step scalars from device memory written before each
 * replay, and refuses with a clear message what a CUDA graph cannot hold.
 */
class CudaStepCaptureTest {
    private static final int B = 2, DIM = 32;

    /** The backend under test: the emulation here, the GPU in {@link CudaStepCaptureGpuTest}. */
    CudaOps ops() { return Emu.ops(); }

    DevicePool pool() { return ((EmulatedDeviceApi) ops().device()).pool(); }

    private Tensor up(float[] v, int... shape) {
        try (Tensor h = Tensor.of(v, shape)) {
            return ops().upload(h);
        }
    }

    private float[] down(Tensor t) {
        try (Tensor h = ops().download(t)) {
            return h.toArray();
        }
    }

    /** A miniature denoising step: timestep embedding → linear → SiLU → x ← c0·x + c1·h, all from device inputs. */
    private static void step(CudaOps ops, Tensor inputs, Tensor w, Tensor x) {
        try (Tensor emb = ops.allocate(B, DIM); Tensor h = ops.allocate(B, DIM)) {
            ops.timestepEmbedding(inputs.slice(0, B), DIM, true, 0f, emb);
            ops.matmul(emb, w, null, h);
            ops.activation(Activation.SILU, h, h);
            ops.axpby(inputs.slice(B, 2), x, h, x);
        }
    }

    private static float[] inputs(float t, float c0, float c1) { return new float[] {t, t, c0, c1}; }

    @Test
    void replayEqualsTheEagerStepBitForBitAndReadsNewInputsEachTime() {
        CudaOps ops = ops();
        Random r = new Random(3);
        try (Tensor w = up(Emu.random(r, DIM * DIM, 0f), DIM, DIM); Tensor in = ops.allocateF32(B + 2);
             Tensor xe = up(Emu.random(r, B * DIM, 0f), B, DIM); Tensor xg = ops.allocate(B, DIM)) {
            ops.copy(xe, xg);
            float[][] steps = {inputs(901, 0.9f, 0.1f), inputs(801, 0.8f, 0.3f), inputs(1, 1.1f, -0.2f)};
            // eager: op by op (warms the pool: the capture below needs no fresh memory)
            float[][] eager = new float[steps.length][];
            for (int i = 0; i < steps.length; i++) {
                ops.write(steps[i], in);
                step(ops, in, w, xe);
                eager[i] = down(xe);
            }
            DevicePool pool = pool();
            long allocs = pool.driverAllocations();
            try (StepGraph g = ops.record(() -> step(ops, in, w, xg))) {
                assertTrue(g.captured());
                assertEquals(allocs, pool.driverAllocations(), "no device allocation while capturing");
                assertTrue(pool.graphBytes() > 0, "the step's workspaces are reserved for the graph");
                for (int i = 0; i < steps.length; i++) {
                    ops.write(steps[i], in);
                    g.replay();
                    assertArrayEquals(eager[i], down(xg), "replay " + i + " equals eager step " + i);
                }
                assertNotEquals(eager[0][0], eager[1][0], "different inputs give different steps");
            }
            assertEquals(0, pool.graphBytes(), "closing the graph gives its blocks back");
            pool.checkConsistent();
        }
    }

    @Test
    void recordingRunsNothingUntilTheReplay() {
        CudaOps ops = ops();
        try (Tensor x = up(new float[] {1, 2, 3, 4}, 4); Tensor ab = ops.allocateF32(2)) {
            ops.write(new float[] {2f, 0f}, ab);
            ops.axpby(ab, x, x, x);  // eager: warms nothing needed, x = 2x
            try (StepGraph g = ops.record(() -> ops.axpby(ab, x, x, x))) {
                assertArrayEquals(new float[] {2, 4, 6, 8}, down(x), "capture executes nothing");
                g.replay();
                assertArrayEquals(new float[] {4, 8, 12, 16}, down(x));
                ops.write(new float[] {0.5f, 0f}, ab);
                g.replay();
                assertArrayEquals(new float[] {2, 4, 6, 8}, down(x), "the replay read the rewritten coefficients");
            }
        }
    }

    @Test
    void deviceScalarOpsEqualTheirHostScalarTwins() {
        CudaOps ops = ops();
        Random r = new Random(5);
        float[] ts = {999f, 437f, 1f};
        try (Tensor t = ops.allocateF32(3); Tensor a = ops.allocate(3, 64); Tensor b = ops.allocate(3, 64);
             Tensor x = up(Emu.random(r, 300, 0f), 300); Tensor y = up(Emu.random(r, 300, 1f), 300);
             Tensor o1 = ops.allocate(300); Tensor o2 = ops.allocate(300); Tensor ab = ops.allocateF32(2)) {
            ops.write(ts, t);
            ops.timestepEmbedding(t, 64, false, 1f, a);
            ops.timestepEmbedding(ts, 64, false, 1f, b);
            assertArrayEquals(down(b), down(a));
            float ca = 0.98765f, cb = -0.0123457f;
            ops.write(new float[] {ca, cb}, ab);
            ops.axpby(ab, x, y, o1);
            ops.axpby(ca, x, cb, y, o2);
            assertArrayEquals(down(o2), down(o1));
        }
    }

    @Test
    void captureRefusesSyncCopiesAndFreshMemoryWithAClearMessage() {
        CudaOps ops = ops();
        DevicePool pool = pool();
        try (Tensor x = up(new float[] {1, 2, 3}, 3)) {
            StepCaptureException sync = assertThrows(StepCaptureException.class, () -> ops.record(ops::synchronize));
            assertTrue(sync.getMessage().contains("synchronisation"), sync.getMessage());
            StepCaptureException down = assertThrows(StepCaptureException.class, () -> ops.record(() -> ops.download(x).close()));
            assertTrue(down.getMessage().contains("device→host copy"), down.getMessage());
            StepCaptureException up = assertThrows(StepCaptureException.class, () -> ops.record(() -> ops.write(new float[] {1, 2, 3}, x)));
            assertTrue(up.getMessage().contains("host→device copy"), up.getMessage());
            StepCaptureException fresh = assertThrows(StepCaptureException.class,
                    () -> ops.record(() -> ops.allocate(123_457, 97).close()));   // a size no earlier test cached
            assertTrue(fresh.getMessage().contains("fresh device memory") && fresh.getMessage().contains("uncaptured"), fresh.getMessage());
            Tensor[] kept = new Tensor[1];
            try (Tensor warm = ops.allocate(7)) { assertEquals(7, warm.size()); }  // cache a block of that size
            StepCaptureException leak = assertThrows(StepCaptureException.class, () -> ops.record(() -> kept[0] = ops.allocate(7)));
            assertTrue(leak.getMessage().contains("kept 1 device block"), leak.getMessage());
            kept[0].close();
            assertFalse(ops.device().capturing(), "every failed capture was aborted");
            pool.checkConsistent();
            ops.axpby(2f, x, 0f, x, x);  // the backend still works
            assertArrayEquals(new float[] {2, 4, 6}, down(x));
        }
    }

    @Test
    void outOfDeviceMemorySaysWhatWasAllocatedHowMuchAndWhatToTry() {
        try (EmulatedDeviceApi api = Emu.device(8L << 20); CudaOps ops = new CudaOps(api, "cuda-emu")) {
            DevicePool pool = api.pool();
            try (Tensor small = ops.allocate(1024, 1024)) {   // 4 MiB of the 8
                DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class, () -> ops.allocate(2, 1024, 1024));
                String m = e.getMessage();
                assertTrue(m.startsWith("out of cuda-emu device memory for a F32 tensor"), "names the backend: " + m);
                assertTrue(m.contains("F32 tensor [2, 1024, 1024]") && m.contains("8.0 MiB") && m.contains(DeviceOutOfMemoryException.ADVICE), m);
                assertTrue(m.contains("4.0 MiB in use"), "says what is in use: " + m);
                assertEquals(4L << 20, pool.inUseBytes(), "the failed allocation left nothing behind");
                pool.checkConsistent();
                ops.axpby(1f, small, 0f, small, small);  // the device still works
            }
        }
    }
}
