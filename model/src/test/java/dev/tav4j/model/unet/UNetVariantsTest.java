package dev.tav4j.model.unet;

import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.golden.GoldenData;
import dev.tav4j.model.golden.Parity;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** UNet3D configurations the golden cases do not cover: linear projections, per-block heads, odd latent sizes. */
class UNetVariantsTest {
    private final Ops ops = Backends.select("cpu");

    /** The same weights seen with proj_in/proj_out stored as Linear [C, C] instead of 1×1 conv [C, C, 1, 1]. */
    private record LinearProjections(Weights base) implements Weights {
        @Override public String component() { return base.component(); }
        @Override public Set<String> names() { return base.names(); }
        @Override public int[] shape(String name) { return base.shape(name); }
        @Override public Tensor load(String name, int... shape) {
            if ((name.endsWith("proj_in.weight") || name.endsWith("proj_out.weight")) && shape.length == 2)
                return base.load(name, shape[0], shape[1], 1, 1).reshapeOwned(shape);
            return base.load(name, shape);
        }
        @Override public String describe() { return base.describe() + " (projections as Linear)"; }
        @Override public void close() { base.close(); }
    }

    private static UNetConfig withLinearProjection(UNetConfig c, boolean linear) {
        return new UNetConfig(c.className(), c.inChannels(), c.outChannels(), c.blockOutChannels(), c.layersPerBlock(),
                c.normNumGroups(), c.normEps(), c.crossAttentionDim(), c.heads(), linear, c.downBlockTypes(), c.upBlockTypes(),
                c.flipSinToCos(), c.freqShift(), c.downsamplePadding(), c.centerInputSample(), c.sampleSize(), c.predictionHint());
    }

    private static UNetConfig withHeads(UNetConfig c, int[] heads) {
        return new UNetConfig(c.className(), c.inChannels(), c.outChannels(), c.blockOutChannels(), c.layersPerBlock(),
                c.normNumGroups(), c.normEps(), c.crossAttentionDim(), heads, c.useLinearProjection(), c.downBlockTypes(), c.upBlockTypes(),
                c.flipSinToCos(), c.freqShift(), c.downsamplePadding(), c.centerInputSample(), c.sampleSize(), c.predictionHint());
    }

    private Tensor run(UNet3D unet, int frames, int h, int w, long seed) {
        Gaussian g = new Gaussian(seed);
        try (Tensor x = g.tensor(2 * frames, h, w, 4); Tensor t = g.tensor(2, 77, unet.config().crossAttentionDim());
             Tensor dx = ops.upload(x); Tensor dt = ops.upload(t); Tensor out = unet.forward(dx, frames, new float[]{501, 501}, dt)) {
            return ops.download(out);
        }
    }

    @Test
    void linearProjectionsGiveTheSameResultAsOneByOneConvs() {
        Path tuned = GoldenData.models().resolve("tiny-tuned-a");
        UNetConfig cfg = CheckpointDir.unetFolderConfig(tuned);
        try (Weights w = CheckpointDir.unetFolder(tuned); UNet3D conv = new UNet3D(ops, withLinearProjection(cfg, false), w);
             Weights w2 = new LinearProjections(CheckpointDir.unetFolder(tuned));
             UNet3D linear = new UNet3D(ops, withLinearProjection(cfg, true), w2);
             Tensor a = run(conv, 3, 16, 16, 1); Tensor b = run(linear, 3, 16, 16, 1); Tensor a2 = run(conv, 3, 16, 16, 1)) {
            // the same model twice may differ in the last bits (the Vector API's EXP rounds differently before and
            // after JIT compilation); the two projection layouts must agree to that level
            double noise = Parity.check("same model twice", a2, a, 1e-5);
            Parity.check("use_linear_projection=true vs 1x1 conv", b, a, Math.max(1e-6, 4 * noise));
        }
    }

    @Test
    void perBlockHeadCountsAreUsedDownMidAndUp() {
        UNetConfig base = withHeads(dev.tav4j.model.pipeline.SmokeTestModel.unetConfig(), new int[]{4, 4, 4, 4});
        try (UNet3D same = UNetLoader.build(ops, base, new RandomWeights("unet", 3), null, 1);
             UNet3D perBlock = UNetLoader.build(ops, withHeads(base, new int[]{1, 2, 8, 4}), new RandomWeights("unet", 3), null, 1);
             Tensor a = run(same, 2, 8, 8, 2); Tensor b = run(perBlock, 2, 8, 8, 2)) {
            assertArrayEquals(new int[]{4, 8, 8, 4}, a.shape());
            assertTrue(Parity.relErr(b, a) > 1e-4, "different head counts must change the result");
        }
        UNetConfig listed = withHeads(base, new int[]{4, 4, 4, 4});
        try (UNet3D x = UNetLoader.build(ops, listed, new RandomWeights("unet", 3), null, 1);
             UNet3D y = UNetLoader.build(ops, base, new RandomWeights("unet", 3), null, 1);
             Tensor a = run(x, 2, 8, 8, 2); Tensor b = run(y, 2, 8, 8, 2)) {
            // same model: equal up to the last-bit rounding of the Vector API's EXP before/after JIT compilation
            assertTrue(Parity.relErr(a, b) <= 1e-5, "a list of equal head counts is the same model as the int");
        }
    }

    @Test
    void latentSizesNotDivisibleByEightUseTheSkipSizes() {
        try (UNet3D unet = UNetLoader.build(ops, dev.tav4j.model.pipeline.SmokeTestModel.unetConfig(), new RandomWeights("unet", 5), null, 1);
             Tensor out = run(unet, 2, 12, 20, 3); Tensor odd = run(unet, 1, 9, 7, 4)) {
            assertArrayEquals(new int[]{4, 12, 20, 4}, out.shape());
            assertArrayEquals(new int[]{2, 9, 7, 4}, odd.shape());
            for (long i = 0; i < odd.size(); i++) assertTrue(Float.isFinite(odd.get(i)));
        }
    }
}
