package dev.tav4j.model.pipeline;

import dev.tav4j.model.golden.GoldenData;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.HostMemoryPool;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The host-memory plan against what a run really takes: the peak of host tensor memory while editing (UNet steps,
 * then decoding) must stay under the plan's activation estimate, and the estimate must not be so loose that it
 * would refuse runs that fit (within 6× of the measured peak at this size; SD-sized runs are relatively tighter).
 */
class HostMemoryPlanTest {
    @Test
    void activationEstimateBoundsTheMeasuredPeak() {
        Path model = GoldenData.models().resolve("tiny-sd-a"), tuned = GoldenData.models().resolve("tiny-tuned-a");
        int frames = 6, height = 128, width = 96;
        HostMemoryPlan plan = HostMemoryPlan.estimate(model, tuned, new HostMemoryPlan.Workload(frames, height, width, true, false, false));
        Ops ops = Backends.select("cpu");
        try (TuneAVideoPipeline p = TuneAVideoPipeline.load(ops, model, tuned)) {
            int s = p.vaeScale();
            long before = HostMemoryPool.GLOBAL.liveBytes();
            HostMemoryPool.GLOBAL.resetPeak();
            try (Tensor init = new Gaussian(3).tensor(1, 4, frames, height / s, width / s);
                 Tensor x = VideoLayout.toFrames(ops, init);
                 Tensor edited = p.edit(x, frames, "a man is skiing", 2, 7.5f, Progress.NONE);
                 Tensor video = p.decode(edited)) {
                assertEquals(height, video.dim(1));
            }
            long measured = HostMemoryPool.GLOBAL.peakLiveBytes() - before;
            System.out.printf("host memory plan: activations estimated %d KiB, measured peak %d KiB (%.1fx)%n",
                    plan.activationBytes() >> 10, measured >> 10, plan.activationBytes() / (double) measured);
            assertTrue(measured > 0);
            assertTrue(measured <= plan.activationBytes(), "measured " + measured + " > estimated " + plan.activationBytes());
            assertTrue(plan.activationBytes() <= 6 * measured, "estimate " + plan.activationBytes() + " is over 6x the measured " + measured);
        }
    }

    @Test
    void weightsComeFromTheHeaders() {
        Path model = GoldenData.models().resolve("tiny-sd-a");
        HostMemoryPlan base = HostMemoryPlan.estimate(model, null, new HostMemoryPlan.Workload(2, 64, 64, true, false, false));
        HostMemoryPlan tuned = HostMemoryPlan.estimate(model, GoldenData.models().resolve("tiny-tuned-a"),
                new HostMemoryPlan.Workload(2, 64, 64, true, false, false));
        // the inflated base adds the temporal layers the tuned folder stores: the two come out the same size
        assertEquals(tuned.weightBytes(), base.weightBytes(), tuned.weightBytes() / 100.0);
        assertTrue(base.fits(), base.toString());
        HostMemoryPlan huge = HostMemoryPlan.estimate(model, null, new HostMemoryPlan.Workload(100_000, 4096, 4096, true, true, false));
        assertFalse(huge.fits());
    }
}
