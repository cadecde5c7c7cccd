package dev.tav4j.model.golden;

import dev.tav4j.model.io.SafeTensors;
import dev.tav4j.model.io.Weights;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** The reader on real files: every golden case's tensors and every model weights file parse and load. */
class GoldenFilesTest {

    @Test
    void everyCaseTensorFileLoads() {
        List<GoldenCase> cases = GoldenData.cases();
        assertFalse(cases.isEmpty(), "no cases under " + GoldenData.roots());
        for (GoldenCase c : cases) {
            try (c) {
                SafeTensors st = c.tensors();
                assertFalse(st.names().isEmpty(), c.name() + " has no tensors");
                for (String name : st.names()) loadAll(st, name);
                for (String out : c.list("outputs"))
                    if (!out.contains("<")) assertTrue(st.names().contains(out), c.label(out) + " listed in outputs but not stored");
            }
        }
    }

    @Test
    void everyModelWeightsFileLoads() throws IOException {
        // every root's models; a file with the same bytes as one already read (the same model in two roots) once
        List<Path> files = new java.util.ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Path root : GoldenData.roots()) {
            if (!Files.isDirectory(root.resolve("models"))) continue;
            try (Stream<Path> s = Files.walk(root.resolve("models"))) {
                s.filter(p -> p.toString().endsWith(".safetensors")).sorted().filter(p -> seen.add(GoldenRebuild.sha256(p))).forEach(files::add);
            }
        }
        assertTrue(files.size() >= 4, "expected the tiny models' weight files, found " + files);
        for (Path f : files) {
            try (SafeTensors st = SafeTensors.open(f); Weights w = Weights.open(f.getParent().getFileName().toString(), f)) {
                assertEquals("pt", st.metadata().get("format"), f + " metadata");
                for (String name : st.names()) loadAll(st, name);
                for (String name : w.names()) {
                    assertFalse(name.endsWith("position_ids"), name);
                    try (Tensor t = w.load(name, w.shape(name))) { assertEquals(st.info(name).elements(), t.size()); }
                }
            }
        }
    }

    /** Values checked against numpy reading the same files (an independent reader). */
    @Test
    void valuesMatchAnIndependentReader() {
        GoldenCase vae = GoldenData.named("a-vae");
        try (vae; Tensor pixels = vae.tensor("pixels"); Tensor z = vae.tensor("z")) {
            assertArrayEquals(new int[]{2, 3, 128, 128}, pixels.shape());
            assertEquals(-0.07504665f, pixels.get(0));
            assertEquals(0.79634005f, pixels.get(pixels.size() - 1));
            assertEquals(-179.16621579382922, sum(pixels), 1e-6);
            assertEquals(-1.1419681f, z.get(0));
            assertEquals(40.19113618352276, sum(z), 1e-6);
        }
        GoldenCase tok = GoldenData.named("a-tokenize");
        try (tok) {
            long[] ids = tok.longs("input_ids");
            assertEquals(14 * 77, ids.length);
            assertArrayEquals(new long[]{49406, 320, 786, 533, 14400, 49407, 49407, 49407}, Arrays.copyOf(ids, 8));
        }
        GoldenCase pipe = GoldenData.named("a-pipeline");
        try (pipe; Tensor frames = pipe.tensor("frames")) {
            assertEquals("U8", pipe.tensors().info("frames").dtype());
            assertArrayEquals(new int[]{4, 128, 128, 3}, frames.shape());
            assertArrayEquals(new float[]{157, 178, 202, 154, 175}, Arrays.copyOf(frames.toArray(), 5));
            assertEquals(35468354, sum(frames), 0);
            assertArrayEquals(new long[]{640, 15, 333}, pipe.longs("timesteps"));
        }
    }

    private static void loadAll(SafeTensors st, String name) {
        SafeTensors.TensorInfo info = st.info(name);
        try (Tensor t = st.loadF32(name)) {
            assertArrayEquals(info.shape(), Arrays.stream(t.shape()).asLongStream().toArray(), st.path() + " " + name);
            float[] v = t.toArray();
            for (float x : v) assertTrue(Float.isFinite(x), st.path() + " " + name + " holds a non-finite value");
            if (info.dtype().startsWith("I") || info.dtype().equals("U8")) {
                long[] l = st.loadLongs(name);
                for (int i = 0; i < l.length; i++) assertEquals((float) l[i], v[i], name);
            }
        }
    }

    private static double sum(Tensor t) {
        double s = 0;
        for (float x : t.toArray()) s += x;
        return s;
    }
}
