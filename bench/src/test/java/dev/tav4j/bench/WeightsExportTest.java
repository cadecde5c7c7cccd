package dev.tav4j.bench;

import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.model.unet.UNetLoader;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WeightsExportTest {
    private final Ops ops = Backends.select("cpu");

    static float[] forward(Ops ops, UNet3D unet, int frames, int latent) {
        Gaussian g = new Gaussian(5);
        try (Tensor x = g.tensor(frames, latent, latent, 4); Tensor t = g.tensor(1, 77, unet.config().crossAttentionDim());
             Tensor dx = ops.upload(x); Tensor dt = ops.upload(t); Tensor out = unet.forward(dx, frames, new float[]{321}, dt);
             Tensor h = ops.download(out)) {
            float[] a = new float[(int) h.size()];
            for (int i = 0; i < a.length; i++) a[i] = h.get(i);
            return a;
        }
    }

    private float[] values(Tensor t) {
        try (Tensor h = ops.download(t)) {
            float[] a = new float[(int) h.size()];
            for (int i = 0; i < a.length; i++) a[i] = h.get(i);
            return a;
        }
    }

    @Test
    void theWrittenFolderLoadsToTheSameModelAsTheRandomWeights(@TempDir Path dir) {
        UNetConfig cfg = TinyModels.tiny();
        Path out = WeightsExport.write(cfg, new RandomWeights("unet", 1), dir.resolve("unet"));
        assertTrue(Files.isRegularFile(out.resolve(WeightsExport.CONFIG)) && Files.isRegularFile(out.resolve(WeightsExport.WEIGHTS)));
        UNetConfig back = CheckpointDir.unetFolderConfig(out);
        assertEquals("UNet3DConditionModel", back.className());
        assertArrayEquals(cfg.blockOutChannels(), back.blockOutChannels());
        assertArrayEquals(cfg.heads(), back.heads());
        assertEquals(cfg.downBlockTypes(), back.downBlockTypes());
        assertEquals(cfg.upBlockTypes(), back.upBlockTypes());
        assertEquals(cfg.crossAttentionDim(), back.crossAttentionDim());
        assertEquals(cfg.normNumGroups(), back.normNumGroups());
        float[] expected, got;
        try (UNet3D mem = new UNet3D(ops, cfg, new RandomWeights("unet", 1));
             Weights w = CheckpointDir.unetFolder(out); UNet3D loaded = UNetLoader.build(ops, back, w, null, 0)) {
            assertEquals(w.names().size(), loaded.params().all().size(), "every stored tensor is a parameter of the model");
            assertTrue(w.names().stream().anyMatch(n -> n.contains(".attn_temp.")), "temporal layers are stored");
            // the round trip itself is exact: every parameter bit for bit
            mem.params().all().forEach((name, p) -> {
                var q = loaded.params().all().get(name);
                assertTrue(q != null, "parameter " + name + " is in the written folder");
                assertArrayEquals(values(p.value()), values(q.value()), name);
            });
            expected = forward(ops, mem, 2, 8);
            got = forward(ops, loaded, 2, 8);
        }
        // Same weights, same code; the CPU backend's vector EXP may still round differently in its last bit depending
        // on the JIT tier a loop runs in (see CpuDeterminismTest), so the forwards agree to float rounding, not bits.
        double maxRef = 0, maxErr = 0;
        for (int i = 0; i < expected.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
            maxErr = Math.max(maxErr, Math.abs(expected[i] - got[i]));
        }
        assertTrue(maxErr <= 1e-5 * maxRef, "forward of the reloaded model: max error " + maxErr + " vs max |ref| " + maxRef);
    }

    @Test
    void rewritingAnEarlierExportReplacesItButAnotherFolderIsRefused(@TempDir Path dir) throws Exception {
        UNetConfig cfg = TinyModels.tiny();
        Path out = dir.resolve("unet");
        WeightsExport.write(cfg, new RandomWeights("unet", 1), out);
        byte[] first = Files.readAllBytes(out.resolve(WeightsExport.WEIGHTS));
        WeightsExport.write(cfg, new RandomWeights("unet", 2), out);
        byte[] second = Files.readAllBytes(out.resolve(WeightsExport.WEIGHTS));
        assertEquals(first.length, second.length);
        assertFalse(java.util.Arrays.equals(first, second), "the second export (another seed) replaced the first");
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temporary folder left beside the export");
        }
        Path other = Files.createDirectories(dir.resolve("mine"));
        Files.writeString(other.resolve("notes.txt"), "keep");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WeightsExport.write(cfg, new RandomWeights("unet", 1), other));
        assertTrue(e.getMessage().contains("notes.txt") && e.getMessage().contains(other.toString()), e.getMessage());
        assertFalse(Files.exists(other.resolve(WeightsExport.WEIGHTS)), "nothing written into a folder that was refused");
    }
}
