package dev.tav4j.model.pipeline;

import dev.tav4j.model.golden.GoldenData;
import dev.tav4j.model.nn.Param;
import dev.tav4j.model.nn.ParamLayout;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Weights repacked once and mapped from the cache afterwards: the same bits, read-only views, a new key for a changed file. */
class RepackCacheTest {
    @TempDir Path tmp;
    private final Ops ops = Backends.select("cpu");

    private static Map<String, float[]> params(TuneAVideoPipeline p) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Param prm : p.unet().params().all().values()) out.put(prm.name(), prm.value().toArray());
        return out;
    }

    private static List<String> cacheFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    private Path tunedCopy() throws IOException {
        Path src = GoldenData.models().resolve("tiny-tuned-a"), dst = tmp.resolve("tuned");
        try (Stream<Path> s = Files.walk(src)) {
            for (Path f : s.toList()) {
                Path to = dst.resolve(src.relativize(f).toString());
                if (Files.isDirectory(f)) Files.createDirectories(to);
                else Files.copy(f, to);
            }
        }
        return dst;
    }

    @Test
    void cachedLoadsAreBitIdenticalViewsAndAChangedFileIsRepacked() throws IOException {
        Path model = GoldenData.models().resolve("tiny-sd-a"), tuned = tunedCopy(), cache = tmp.resolve("cache");
        List<String> warnings = new ArrayList<>();
        Map<String, float[]> plain;
        try (TuneAVideoPipeline p = TuneAVideoPipeline.load(ops, model, tuned)) {
            plain = params(p);
        }
        try (TuneAVideoPipeline p = TuneAVideoPipeline.load(ops, model, tuned, n -> false, cache, warnings::add)) {
            assertEquals(plain.keySet(), params(p).keySet());
            params(p).forEach((k, v) -> assertArrayEquals(plain.get(k), v, "first (writing) load: " + k));
        }
        List<String> files = cacheFiles(cache);
        assertEquals(3, files.size(), "text encoder, VAE and tuned UNet: " + files);
        assertTrue(files.stream().noneMatch(f -> f.endsWith(".part")), files.toString());
        try (TuneAVideoPipeline p = TuneAVideoPipeline.load(ops, model, tuned, n -> n.contains("attn_temp"), cache, warnings::add)) {
            params(p).forEach((k, v) -> assertArrayEquals(plain.get(k), v, "cached load: " + k));
            for (Param prm : p.unet().params().all().values()) {
                boolean trainable = prm.name().contains("attn_temp");
                if (prm.layout() != ParamLayout.AS_IS)
                    assertEquals(!trainable, prm.value().isReadOnly(), prm.name() + ": repacked weights are views of the cache, trainable ones copies");
            }
        }
        assertEquals(files, cacheFiles(cache), "a hit writes nothing");
        assertEquals(3, warnings.size(), "one note per cache file written: " + warnings);
        assertTrue(warnings.stream().allMatch(w -> w.startsWith("wrote ") && w.contains("later loads map them in place")), warnings.toString());

        // a changed weights file gets a new key: repacked again, the old entry is left alone
        Path w = tuned.resolve("unet/diffusion_pytorch_model.safetensors");
        Files.setLastModifiedTime(w, FileTime.fromMillis(Files.getLastModifiedTime(w).toMillis() + 5000));
        try (TuneAVideoPipeline p = TuneAVideoPipeline.load(ops, model, tuned, n -> false, cache, warnings::add)) {
            params(p).forEach((k, v) -> assertArrayEquals(plain.get(k), v, k));
        }
        assertEquals(4, cacheFiles(cache).size());
    }

    @Test
    void anUnwritableCacheCostsOnlyTheSpeedUp() throws IOException {
        Path blocker = Files.writeString(tmp.resolve("not-a-folder"), "x");
        List<String> warnings = new ArrayList<>();
        Path model = GoldenData.models().resolve("tiny-sd-a");
        try (TuneAVideoPipeline p = TuneAVideoPipeline.load(ops, model, GoldenData.models().resolve("tiny-tuned-a"), n -> false,
                blocker.resolve("cache"), warnings::add)) {
            assertFalse(p.unet().params().all().isEmpty());
        }
        assertFalse(warnings.isEmpty());
        assertTrue(warnings.getFirst().contains("repacked-weights cache") && warnings.getFirst().contains("goes on"), warnings.getFirst());
        assertTrue(warnings.stream().noneMatch(w -> w.startsWith("wrote ")), warnings.toString());
    }
}
