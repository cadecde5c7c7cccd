package dev.tav4j.model.io;

import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.tav4j.model.io.StBytes.*;
import static org.junit.jupiter.api.Assertions.*;

class WeightsTest {
    @TempDir Path tmp;

    private Path shard(String file, String name, float... v) throws IOException {
        return StBytes.file(tmp.resolve(file), "{" + entry(name, "F32", "[" + v.length + "]", 0, 4L * v.length) + "}", f32(v));
    }

    private Path unetFile() throws IOException {
        String h = "{" + entry("down_blocks.0.attentions.0.proj_in.weight", "F32", "[2,3]", 0, 24) + ","
                + entry("down_blocks.0.attentions.0.proj_in.bias", "F32", "[2]", 24, 32) + ","
                + entry("text_model.embeddings.position_ids", "I64", "[1,2]", 32, 48) + "}";
        return StBytes.file(tmp.resolve("unet.safetensors"), h, concat(f32(1, 2, 3, 4, 5, 6, 7, 8), i64(0, 1)));
    }

    @Test
    void loadsWithShapeCheckAndIgnoresPositionIds() throws IOException {
        try (Weights w = Weights.open("unet", unetFile())) {
            assertEquals(List.of("down_blocks.0.attentions.0.proj_in.weight", "down_blocks.0.attentions.0.proj_in.bias"), List.copyOf(w.names()));
            assertFalse(w.has("text_model.embeddings.position_ids"));
            assertTrue(w.has("down_blocks.0.attentions.0.proj_in.bias"));
            assertArrayEquals(new int[]{2, 3}, w.shape("down_blocks.0.attentions.0.proj_in.weight"));
            try (Tensor t = w.load("down_blocks.0.attentions.0.proj_in.weight", 2, 3)) {
                assertArrayEquals(new float[]{1, 2, 3, 4, 5, 6}, t.toArray());
            }
            try (Tensor t = w.load("down_blocks.0.attentions.0.proj_in.bias")) { assertArrayEquals(new float[]{7, 8}, t.toArray()); }
            assertEquals("unet", w.component());
            assertTrue(w.describe().contains("unet.safetensors"), w.describe());
        }
    }

    @Test
    void missingWeightNamesItTheComponentTheFilesAndSimilarNames() throws IOException {
        Path f = unetFile();
        try (Weights w = Weights.open("unet", f)) {
            MissingWeightException e = assertThrows(MissingWeightException.class, () -> w.load("down_blocks.0.attentions.0.proj_out.weight"));
            String m = e.getMessage();
            assertEquals("down_blocks.0.attentions.0.proj_out.weight", e.weight());
            assertTrue(m.contains("'down_blocks.0.attentions.0.proj_out.weight'"), m);
            assertTrue(m.contains("'unet'"), m);
            assertTrue(m.contains(f.toString()), m);
            assertTrue(m.contains("similar names: down_blocks.0.attentions.0.proj_in.weight"), m);
            MissingWeightException far = assertThrows(MissingWeightException.class, () -> w.shape("conv_in.weight"));
            assertFalse(far.getMessage().contains("similar"), far.getMessage());
        }
    }

    @Test
    void shapeMismatchNamesTheTensorAndBothShapes() throws IOException {
        try (Weights w = Weights.open("unet", unetFile())) {
            WeightShapeException e = assertThrows(WeightShapeException.class, () -> w.load("down_blocks.0.attentions.0.proj_in.weight", 3, 2));
            String m = e.getMessage();
            assertTrue(m.contains("'down_blocks.0.attentions.0.proj_in.weight'") && m.contains("expected shape [3, 2]")
                    && m.contains("found [2, 3]") && m.contains("unet.safetensors"), m);
        }
    }

    @Test
    void shardsAreJoinedAndDuplicatesRefused() throws IOException {
        Path a = shard("a.safetensors", "x", 1, 2);
        Path b = shard("b.safetensors", "y", 3);
        try (Weights w = Weights.open("text_encoder", a, b)) {
            assertEquals(List.of("x", "y"), List.copyOf(w.names()));
            try (Tensor y = w.load("y", 1)) { assertEquals(3f, y.get(0)); }
            assertTrue(w.describe().contains("a.safetensors") && w.describe().contains("b.safetensors"), w.describe());
        }
        Path c = shard("c.safetensors", "x", 9, 9);
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> Weights.open("text_encoder", a, c));
        assertTrue(e.getMessage().contains("'x'") && e.getMessage().contains(a.toString()) && e.getMessage().contains(c.toString()), e.getMessage());
    }

    @Test
    void brokenShardFailsWithItsName() throws IOException {
        Path a = shard("ok.safetensors", "x", 1);
        Path bad = StBytes.file(tmp.resolve("bad.safetensors"), "{nope", new byte[0]);
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> Weights.open("unet", a, bad));
        assertTrue(e.getMessage().contains(bad.toString()), e.getMessage());
    }

    @Test
    void inMemoryWeightsReturnCopies() {
        try (Tensor t = Tensor.of(new float[]{1, 2, 3, 4}, 2, 2); Tensor p = Tensor.of(new float[]{0, 1}, 1, 2)) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("attn_temp.to_q.weight", t);
            m.put("embeddings.position_ids", p);
            Weights w = Weights.of("unet", m);
            assertEquals(List.of("attn_temp.to_q.weight"), List.copyOf(w.names()));
            try (Tensor c = w.load("attn_temp.to_q.weight", 2, 2)) {
                c.set(0, 100f);
            }
            assertEquals(1f, t.get(0), "the map's tensor is not shared with the caller");
            WeightShapeException s = assertThrows(WeightShapeException.class, () -> w.load("attn_temp.to_q.weight", 4));
            assertTrue(s.getMessage().contains("expected shape [4]") && s.getMessage().contains("found [2, 2]"), s.getMessage());
            MissingWeightException e = assertThrows(MissingWeightException.class, () -> w.load("attn_temp.to_k.weight"));
            assertTrue(e.getMessage().contains("'attn_temp.to_k.weight'") && e.getMessage().contains("in-memory")
                    && e.getMessage().contains("attn_temp.to_q.weight"), e.getMessage());
            w.close();
            assertEquals(2f, t.get(1), "closing in-memory weights leaves the owner's tensors alone");
        }
    }
}
