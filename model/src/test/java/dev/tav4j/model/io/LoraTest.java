package dev.tav4j.model.io;

import dev.tav4j.model.config.ConfigException;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** LoRA files of each format merged into small weights, against a merge computed here; and the refusals. */
class LoraTest {
    @TempDir Path tmp;

    static final String Q = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight";
    static final String OUT = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.weight";
    static final String CONV = "down_blocks.0.resnets.0.conv1.weight";
    static final String TE_Q = "text_model.encoder.layers.0.self_attn.q_proj.weight";

    /** Double sums in another order may round 1 ulp apart; a wrong factor (alpha, rank, scale) is ~1e-1 off. */
    static final float EPS = 1e-5f;

    private final Random rng = new Random(7);

    private Tensor rand(int... shape) {
        Tensor t = Tensor.host(shape);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) rng.nextGaussian());
        return t;
    }

    /** A UNet with a linear [6, 4], an attention output [6, 6] and a 3×3 conv [5, 3, 3, 3], in a file (mapped, read-only views). */
    private Weights unet() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(Q, rand(6, 4));
        m.put(OUT, rand(6, 6));
        m.put(CONV, rand(5, 3, 3, 3));
        m.put("down_blocks.0.resnets.0.conv1.bias", rand(5));
        Path f = tmp.resolve("unet-" + System.nanoTime() + ".safetensors");
        SafeTensorsWriter.write(f, m, Map.of());
        m.values().forEach(Tensor::close);
        return Weights.open("unet", f);
    }

    private Path lora(String file, Map<String, Tensor> tensors) {
        Path f = tmp.resolve(file);
        SafeTensorsWriter.write(f, tensors, Map.of());
        tensors.values().forEach(Tensor::close);
        return f;
    }

    private static Tensor scalar(float v) { return Tensor.of(new float[]{v}); }

    /** W + factor · up · down, the kernel flattened, in double: the rule written out. */
    private static float[] expected(Weights w, String name, Tensor down, Tensor up, double factor) {
        float[] base;
        try (Tensor t = w.load(name)) { base = t.toArray(); }
        int out = up.dim(0), r = down.dim(0), k = (int) (down.size() / r);
        float[] d = down.toArray(), u = up.toArray();
        float[] res = new float[base.length];
        for (int o = 0; o < out; o++)
            for (int c = 0; c < k; c++) {
                double s = 0;
                for (int j = 0; j < r; j++) s += (double) u[o * r + j] * d[j * k + c];
                res[o * k + c] = (float) (base[o * k + c] + factor * s);
            }
        return res;
    }

    private static float[] load(Weights w, String name) {
        try (Tensor t = w.load(name)) { return t.toArray(); }
    }

    @Test void kohyaWithAlphaMergesLinearAndConv() {
        try (Weights w = unet()) {
            Tensor qd = rand(2, 4), qu = rand(6, 2), cd = rand(2, 3, 3, 3), cu = rand(5, 2, 1, 1);
            float[] wantQ = expected(w, Q, qd, qu, 0.5 * 1.0 / 2), wantC = expected(w, CONV, cd, cu, 0.5 * 4.0 / 2);
            float[] plainBias = load(w, "down_blocks.0.resnets.0.conv1.bias");
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight", qd);
            t.put("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_up.weight", qu);
            t.put("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.alpha", scalar(1f));
            t.put("lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight", cd);
            t.put("lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight", cu);
            t.put("lora_unet_down_blocks_0_resnets_0_conv1.alpha", scalar(4f));
            Lora lora = Lora.read(List.of(new LoraFile(lora("k.safetensors", t), 0.5f)));
            Weights merged = lora.apply(w);
            assertArrayEquals(wantQ, load(merged, Q), EPS);
            assertArrayEquals(wantC, load(merged, CONV), EPS);
            assertArrayEquals(plainBias, load(merged, "down_blocks.0.resnets.0.conv1.bias"));
            // a second load gives the same: the merge went into a copy, not into the mapped file
            assertArrayEquals(wantQ, load(merged, Q), EPS);
            assertFalse(java.util.Arrays.equals(wantQ, load(w, Q)));
        }
    }

    @Test void kohyaWithoutAlphaUsesRank() {
        try (Weights w = unet()) {
            Tensor d = rand(3, 6), u = rand(6, 3);
            float[] want = expected(w, OUT, d, u, 1.0);  // alpha = rank: factor = scale
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_out_0.lora_down.weight", d);
            t.put("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_out_0.lora_up.weight", u);
            assertArrayEquals(want, load(Lora.read(List.of(LoraFile.parse(lora("n.safetensors", t).toString()))).apply(w), OUT), EPS);
        }
    }

    @Test void peftLoraAAndBIncludingDefaultAdapterAndTextEncoder() {
        try (Weights w = unet()) {
            Tensor d = rand(2, 4), u = rand(6, 2), td = rand(2, 4), tu = rand(4, 2);
            float[] want = expected(w, Q, d, u, 0.8f * 2 / 2.0);
            Map<String, Tensor> te = new LinkedHashMap<>();
            te.put(TE_Q, rand(4, 4));
            try (Weights text = Weights.of("text_encoder", te)) {
                float[] wantTe = expected(text, TE_Q, td, tu, 0.8f * 8 / 2.0);
                Map<String, Tensor> t = new LinkedHashMap<>();
                t.put("unet." + Q.replace(".weight", ".lora_A.default.weight"), d);
                t.put("unet." + Q.replace(".weight", ".lora_B.default.weight"), u);
                t.put("text_encoder." + TE_Q.replace(".weight", ".lora_A.weight"), td);
                t.put("text_encoder." + TE_Q.replace(".weight", ".lora_B.weight"), tu);
                t.put("text_encoder." + TE_Q.replace(".weight", ".alpha"), scalar(8f));
                Lora lora = Lora.read(List.of(LoraFile.parse(lora("p.safetensors", t) + ":0.8")));
                assertArrayEquals(want, load(lora.apply(w), Q), EPS);
                assertArrayEquals(wantTe, load(lora.apply(text), TE_Q), EPS);
            } finally {
                te.values().forEach(Tensor::close);
            }
        }
    }

    @Test void diffusersLoraDownUpAndAttentionProcessors() {
        try (Weights w = unet()) {
            Tensor d = rand(2, 4), u = rand(6, 2), od = rand(1, 6), ou = rand(6, 1);
            float[] want = expected(w, Q, d, u, 1), wantOut = expected(w, OUT, od, ou, 1);
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("unet." + Q.replace(".weight", ".lora.down.weight"), d);
            t.put("unet." + Q.replace(".weight", ".lora.up.weight"), u);
            // the older attention-processor naming, without the unet. prefix
            t.put("down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.down.weight", od);
            t.put("down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.up.weight", ou);
            Weights merged = Lora.read(List.of(new LoraFile(lora("d.safetensors", t), 1f))).apply(w);
            assertArrayEquals(want, load(merged, Q), EPS);
            assertArrayEquals(wantOut, load(merged, OUT), EPS);
        }
    }

    @Test void aKeyMatchingNoWeightIsRefusedByName() {
        try (Weights w = unet()) {
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_z.lora_down.weight", rand(2, 4));
            t.put("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_z.lora_up.weight", rand(6, 2));
            Lora lora = Lora.read(List.of(new LoraFile(lora("u.safetensors", t), 1f)));
            ConfigException e = assertThrows(ConfigException.class, () -> lora.apply(w));
            assertTrue(e.getMessage().contains("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_z.lora_down.weight")
                    && e.getMessage().contains("matches no weight of the unet"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        }
    }

    @Test void aShapeThatDoesNotFitIsRefusedWithBothShapes() {
        try (Weights w = unet()) {
            Map<String, Tensor> t = new LinkedHashMap<>();
            // an attn2.to_k of SD 2 (context 1024) on SD 1.5 (768), in small: in 5 where the weight has 4
            t.put("unet." + Q.replace(".weight", ".lora_A.weight"), rand(2, 5));
            t.put("unet." + Q.replace(".weight", ".lora_B.weight"), rand(6, 2));
            Lora lora = Lora.read(List.of(new LoraFile(lora("s.safetensors", t), 1f)));
            ConfigException e = assertThrows(ConfigException.class, () -> lora.apply(w));
            assertTrue(e.getMessage().contains("lora_A.weight' does not fit weight '" + Q + "'")
                    && e.getMessage().contains("[6, 5]") && e.getMessage().contains("[6, 4]"), e.getMessage());
        }
    }

    @Test void unknownKeysAndHalfPairsAreRefusedWhenRead() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("lora_unet_down_blocks_0_resnets_0_conv1.hada_w1_a", rand(2, 2));
        Path loha = lora("loha.safetensors", t);
        ConfigException e = assertThrows(ConfigException.class, () -> Lora.read(List.of(new LoraFile(loha, 1f))));
        assertTrue(e.getMessage().contains("hada_w1_a") && e.getMessage().contains("not a LoRA weight"), e.getMessage());
        t = new LinkedHashMap<>();
        t.put("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", rand(2, 4));
        Path half = lora("half.safetensors", t);
        e = assertThrows(ConfigException.class, () -> Lora.read(List.of(new LoraFile(half, 1f))));
        assertTrue(e.getMessage().contains("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight"), e.getMessage());
        assertThrows(ConfigException.class, () -> Lora.read(List.of(new LoraFile(tmp.resolve("none.safetensors"), 1f))));
    }

    @Test void loraFileSpecs() {
        assertEquals(new LoraFile(Path.of("a.safetensors"), 1f), LoraFile.parse("a.safetensors"));
        assertEquals(new LoraFile(Path.of("a.safetensors"), 0.75f), LoraFile.parse("a.safetensors:0.75"));
        assertEquals(new LoraFile(Path.of("C:/x/a.safetensors"), 1f), LoraFile.parse("C:/x/a.safetensors"));
        assertEquals(new LoraFile(Path.of("C:/x/a.safetensors"), -1f), LoraFile.parse("C:/x/a.safetensors:-1"));
        assertThrows(ConfigException.class, () -> LoraFile.parse("a.safetensors:big"));
    }

    /**
     * The repacked-weights cache is keyed by the checkpoint's files alone: a merged weight must never go in, or a
     * later load without the LoRA would be served it.
     */
    @Test void mergedWeightsStayOutOfTheRepackCache() {
        Path cacheDir = tmp.resolve("cache");
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(Q, rand(6, 4));
        m.put(OUT, rand(6, 6));
        Path f = tmp.resolve("cached-unet.safetensors");
        SafeTensorsWriter.write(f, m, Map.of());
        m.values().forEach(Tensor::close);
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("unet." + Q.replace(".weight", ".lora_A.weight"), rand(2, 4));
        t.put("unet." + Q.replace(".weight", ".lora_B.weight"), rand(6, 2));
        Lora lora = Lora.read(List.of(new LoraFile(lora("c.safetensors", t), 1f)));
        float[] plainQ;
        try (Weights w = Weights.open("unet", f)) { plainQ = load(w, Q); }
        // with the LoRA: the load "repacks" (here: copies) every weight and offers it, as the engine does
        try (Weights w = lora.apply(Weights.open("unet", RepackCache.open(cacheDir, "unet", List.of(f), s -> {}), f))) {
            for (String n : List.of(Q, OUT)) {
                assertNull(w.repacked(n, "test", w.shape(n)));
                try (Tensor packed = w.load(n)) { w.keepRepacked(n, "test", packed); }
            }
            assertFalse(java.util.Arrays.equals(plainQ, load(w, Q)));
        }
        // without it, same cache folder: the merged weight was not kept, the unmerged one loads
        try (Weights w = Weights.open("unet", RepackCache.open(cacheDir, "unet", List.of(f), s -> {}), f)) {
            assertNull(w.repacked(Q, "test", w.shape(Q)), "a merged weight was cached under the base file's key");
            try (Tensor cached = w.repacked(OUT, "test", w.shape(OUT))) {
                assertNotNull(cached, "the unmerged weights should still be cached");
            }
            assertArrayEquals(plainQ, load(w, Q));
        }
    }
}
