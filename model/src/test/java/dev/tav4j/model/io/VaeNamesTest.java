package dev.tav4j.model.io;

import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class VaeNamesTest {
    private static final String OLD = "encoder.mid_block.attentions.0.";

    private static Map<String, Tensor> stored(String q, String out, int... qShape) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("encoder.conv_in.weight", Tensor.of(new float[]{9}, 1));
        m.put(OLD + q + ".weight", Tensor.of(new float[]{1, 2, 3, 4}, qShape));
        m.put(OLD + out + ".bias", Tensor.of(new float[]{5, 6}, 2));
        return m;
    }

    @Test
    void oldNamesAreFoundInANewSchemeCheckpoint() {
        Map<String, Tensor> m = stored("to_q", "to_out.0", 2, 2);
        Weights w = VaeNames.wrap(Weights.of("vae", m));
        assertEquals(List.of("encoder.conv_in.weight", OLD + "query.weight", OLD + "proj_attn.bias"), List.copyOf(w.names()));
        assertTrue(w.has(OLD + "query.weight") && w.has(OLD + "to_q.weight"));
        try (Tensor q = w.load(OLD + "query.weight", 2, 2); Tensor o = w.load(OLD + "proj_attn.bias", 2)) {
            assertArrayEquals(new float[]{1, 2, 3, 4}, q.toArray());
            assertArrayEquals(new float[]{5, 6}, o.toArray());
        }
        m.values().forEach(Tensor::close);
    }

    @Test
    void newNamesAreFoundInAnOldSchemeCheckpoint() {
        Map<String, Tensor> m = stored("query", "proj_attn", 2, 2);
        Weights w = VaeNames.wrap(Weights.of("vae", m));
        try (Tensor q = w.load(OLD + "to_q.weight", 2, 2); Tensor o = w.load(OLD + "to_out.0.bias")) {
            assertEquals(1f, q.get(0));
            assertEquals(6f, o.get(1));
        }
        assertArrayEquals(new int[]{2, 2}, w.shape(OLD + "to_q.weight"));
        m.values().forEach(Tensor::close);
    }

    @Test
    void convShapedProjectionsLoadAsLinear() {
        Map<String, Tensor> m = stored("to_q", "to_out.0", 2, 2, 1, 1);
        Weights w = VaeNames.wrap(Weights.of("vae", m));
        try (Tensor q = w.load(OLD + "query.weight", 2, 2)) {
            assertArrayEquals(new int[]{2, 2}, q.shape());
            assertArrayEquals(new float[]{1, 2, 3, 4}, q.toArray());
        }
        assertThrows(WeightShapeException.class, () -> w.load(OLD + "query.weight", 4, 1));
        m.values().forEach(Tensor::close);
    }

    @Test
    void missingNameSaysBothSchemesWereTried() {
        Map<String, Tensor> m = stored("query", "proj_attn", 2, 2);
        Weights w = VaeNames.wrap(Weights.of("vae", m));
        MissingWeightException e = assertThrows(MissingWeightException.class, () -> w.load(OLD + "key.weight"));
        assertTrue(e.getMessage().contains(OLD + "key.weight") && e.getMessage().contains("either VAE attention naming"), e.getMessage());
        assertEquals("decoder.up_blocks.0.resnets.0.conv1.weight", VaeNames.toOld("decoder.up_blocks.0.resnets.0.conv1.weight"));
        assertEquals("x.mid_block.attentions.0.to_out.0.weight", VaeNames.toNew("x.mid_block.attentions.0.proj_attn.weight"));
        m.values().forEach(Tensor::close);
    }
}
