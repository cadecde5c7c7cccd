package dev.tav4j.bench;

import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.io.SafeTensors;
import dev.tav4j.model.io.SafeTensorsWriter;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.pipeline.VideoLayout;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PyTorch bench's UNet3D (bench/pytorch/tav_unet3d.py) against tav4j's on the same exported weights and inputs:
 * the proof that both sides of the side-by-side bench do the same work. Needs a Python with torch, named by
 * TAV_TORCH_PYTHON (e.g. /work/venv-torch/bin/python); skipped otherwise.
 */
class TorchParityTest {
    /** Both in float32 on the CPU with different summation orders; the golden forward bound of docs/semantics.md. */
    static final double TOLERANCE = 1e-4;

    @Test
    void pytorchAndTav4jPredictTheSameNoise(@TempDir Path dir) throws Exception {
        String python = System.getenv("TAV_TORCH_PYTHON");
        Assumptions.assumeTrue(python != null && !python.isBlank(),
                "TAV_TORCH_PYTHON is not set: set it to a Python interpreter with torch to compare the PyTorch bench model with tav4j");
        Ops ops = Backends.select("cpu");
        UNetConfig cfg = TinyModels.tiny();
        int frames = 3, latent = 8;
        Path unet = WeightsExport.write(cfg, new RandomWeights("unet", 1), dir.resolve("unet"));
        Gaussian g = new Gaussian(21);
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        inputs.put("sample", g.tensor(1, cfg.inChannels(), frames, latent, latent));
        Tensor t = Tensor.host(1);
        t.set(0, 377f);
        inputs.put("timestep", t);
        inputs.put("encoder_hidden_states", g.tensor(1, 77, cfg.crossAttentionDim()));
        Path in = dir.resolve("in.safetensors"), out = dir.resolve("out.safetensors");
        SafeTensorsWriter.write(in, inputs, Map.of());
        Process p = new ProcessBuilder(python, TorchScripts.locate(TorchScripts.PREDICT).toString(), "--unet", unet.toString(),
                "--inputs", in.toString(), "--out", out.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "predict.py failed: " + log);
        float[] torch, tav;
        try (SafeTensors st = SafeTensors.open(out); Tensor eps = st.loadF32("eps")) {
            assertArrayEquals(new int[]{1, cfg.outChannels(), frames, latent, latent}, eps.shape());
            torch = values(eps);
        }
        try (Weights w = CheckpointDir.unetFolder(unet); UNet3D model = new UNet3D(ops, cfg, w);
             Tensor x = VideoLayout.toFrames(ops, inputs.get("sample")); Tensor text = ops.upload(inputs.get("encoder_hidden_states"));
             Tensor y = model.forward(x, frames, new float[]{377f}, text); Tensor bcfhw = VideoLayout.toBcfhw(ops, y, frames);
             Tensor h = ops.download(bcfhw)) {
            tav = values(h);
        } finally {
            inputs.values().forEach(Tensor::close);
        }
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < tav.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(tav[i] - torch[i]));
            maxRef = Math.max(maxRef, Math.abs(torch[i]));
        }
        double rel = maxDiff / maxRef;
        System.out.printf("[torch-parity] UNet3D noise prediction, tav4j vs PyTorch (%s): max rel error %.2e%n", python, rel);
        assertTrue(maxRef > 0.01, "a non-trivial prediction");
        assertTrue(rel <= TOLERANCE, "max rel error " + rel + " over " + TOLERANCE);
    }

    private static float[] values(Tensor t) {
        float[] a = new float[(int) t.size()];
        for (int i = 0; i < a.length; i++) a[i] = t.get(i);
        return a;
    }
}
