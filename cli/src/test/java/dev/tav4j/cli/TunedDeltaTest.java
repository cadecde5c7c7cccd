package dev.tav4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.io.SafeTensors;
import dev.tav4j.model.io.SafeTensorsWriter;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.tune.TrainableModules;
import dev.tav4j.model.unet.TunedDelta;
import dev.tav4j.model.unet.UNetLoader;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static dev.tav4j.cli.TuneCommandsTest.SMALL;
import static dev.tav4j.cli.TuneCommandsTest.args;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --save-trainable-only / save_trainable_only: a small unet/ delta that loads only over the base it was tuned from. */
class TunedDeltaTest {
    static final String WEIGHTS = "unet/diffusion_pytorch_model.safetensors";

    private static Tav.Run tune(Path model, Path out, String... extra) {
        return Tav.run(args(args(new String[]{"tune", "--model", model.toString(), "--video", Tav.video("man-skiing.mp4").toString(),
                "--prompt", "a man is skiing", "--steps", "2", "--out", out.toString()}, SMALL), extra));
    }

    private static Tav.Run edit(Path model, Path tuned, Path gif) {
        return Tav.run(args(new String[]{"edit", "--model", model.toString(), "--tuned", tuned.toString(), "--prompt", "a cat is skiing",
                "--steps", "2", "--seed", "5", "--out", gif.toString()}, SMALL));
    }

    @Test
    void deltaHoldsTheTunedAndNewTensorsAndEditsLikeTheFullSave(@TempDir Path dir) throws Exception {
        Path model = Tav.tinyModel(), full = dir.resolve("full"), delta = dir.resolve("delta"), sameRun = dir.resolve("same-run");
        Tav.Run r = tune(model, full);
        assertEquals(0, r.code(), r.err());
        r = tune(model, delta, "--save-trainable-only");
        assertEquals(0, r.code(), r.err());

        // exactly what the base cannot give back: the trainable tensors and those its 2D UNet lacks (temporal layers)
        Set<String> base;
        try (Weights w = CheckpointDir.open(model).weights("unet")) {
            base = Set.copyOf(w.names());
        }
        Predicate<String> trainable = TrainableModules.matcher(TrainableModules.DEFAULT);
        try (SafeTensors f = SafeTensors.open(full.resolve(WEIGHTS)); SafeTensors d = SafeTensors.open(delta.resolve(WEIGHTS))) {
            Set<String> expected = f.names().stream().filter(n -> trainable.test(n) || !base.contains(n)).collect(Collectors.toCollection(TreeSet::new));
            assertEquals(expected, new TreeSet<>(d.names()));
            assertTrue(expected.stream().anyMatch(n -> n.contains(".norm_temp.")), "the frozen, fresh temporal norms are in the delta");
            assertTrue(expected.size() < f.names().size() / 2, expected.size() + " of " + f.names().size());
            // what the delta leaves out is the base's, bit for bit, in the full save too
            try (Weights w = CheckpointDir.open(model).weights("unet")) {
                for (String n : f.names()) {
                    if (expected.contains(n)) continue;
                    try (Tensor x = f.loadF32(n); Tensor y = w.load(n, x.shape())) {
                        assertArrayEquals(x.toArray(), y.toArray(), n);
                    }
                }
            }
            // the full save of the delta's own run: the delta's tensors over the rest (a CPU tune is not bit-reproducible
            // across runs, so the other run's tuned tensors agree only to about the learning rate)
            Map<String, Tensor> same = new LinkedHashMap<>();
            try {
                for (String n : f.names()) same.put(n, d.names().contains(n) ? d.loadF32(n) : f.loadF32(n));
                Files.createDirectories(sameRun.resolve("unet"));
                SafeTensorsWriter.write(sameRun.resolve(WEIGHTS), same, Map.of("format", "pt"));
                Files.copy(full.resolve("unet/config.json"), sameRun.resolve("unet/config.json"));
            } finally {
                same.values().forEach(Tensor::close);
            }
            for (String n : d.names()) {
                try (Tensor a = f.loadF32(n); Tensor b = d.loadF32(n)) {
                    float[] x = a.toArray(), y = b.toArray();
                    for (int i = 0; i < x.length; i++) assertEquals(x[i], y[i], 4 * 3e-5, n + "[" + i + "]");
                }
            }
        }
        assertTrue(Files.size(delta.resolve(WEIGHTS)) * 2 < Files.size(full.resolve(WEIGHTS)),
                Files.size(delta.resolve(WEIGHTS)) + " vs " + Files.size(full.resolve(WEIGHTS)));
        JsonNode info = Json.read(delta.resolve("unet").resolve(TunedDelta.FILE));
        assertEquals(TunedDelta.baseHash(CheckpointDir.open(model)), info.path("base_hash").asText());
        assertEquals("UNet3DConditionModel", Json.read(delta.resolve("unet/config.json")).path("_class_name").asText());
        assertTrue(Files.notExists(full.resolve("unet").resolve(TunedDelta.FILE)), "the full save stays the official layout");

        // what the loader reads for each weight: the delta over its base = the full save of the same run, bit for bit
        try (Weights merged = UNetLoader.tunedWeights(CheckpointDir.open(model), delta);
             Weights whole = CheckpointDir.unetFolder(sameRun)) {
            for (String n : whole.names()) {
                try (Tensor x = whole.load(n, whole.shape(n)); Tensor y = merged.load(n, whole.shape(n))) {
                    assertArrayEquals(x.toArray(), y.toArray(), n);
                }
            }
        }
        // and edits as it (a CPU edit is not bit-reproducible run to run either: compared to a GIF level)
        Path a = dir.resolve("full.gif"), b = dir.resolve("delta.gif");
        r = edit(model, sameRun, a);
        assertEquals(0, r.code(), r.err());
        r = edit(model, delta, b);
        assertEquals(0, r.code(), r.err());
        Gifs.assertSameFrames(a, b);

        // any base with that hash: a verbatim copy elsewhere
        Path copy = copyOf(model, dir.resolve("copy"));
        Path c = dir.resolve("copy.gif");
        r = edit(copy, delta.resolve("unet"), c);
        assertEquals(0, r.code(), r.err());
        Gifs.assertSameFrames(a, c);

        // generate --unet takes a delta the same way
        Path g = dir.resolve("generate.gif");
        r = Tav.run(args(new String[]{"generate", "--model", model.toString(), "--unet", delta.toString(), "--prompt", "a cat is skiing",
                "--steps", "1", "--seed", "3", "--out", g.toString()}, SMALL));
        assertEquals(0, r.code(), r.err());
        TuneCommandsTest.assertGif(g, 2, 64, 64);

        // another base: refused in one line naming both hashes
        Path other = copyOf(model, dir.resolve("other"));
        Path cfg = other.resolve("unet/config.json");
        Files.writeString(cfg, Files.readString(cfg).replaceFirst("\\{", "{\n  \"_name_or_path\": \"another model\","));
        String otherHash = TunedDelta.baseHash(CheckpointDir.open(other));
        assertNotEquals(info.path("base_hash").asText(), otherHash);
        r = edit(other, delta, dir.resolve("other.gif"));
        assertNotEquals(0, r.code());
        List<String> lines = r.err().lines().filter(l -> l.contains("tuned delta")).toList();
        assertEquals(1, lines.size(), r.err());
        String err = lines.get(0);
        assertTrue(err.startsWith("tav: ") && !r.err().contains("loaded:"), "refused before loading: " + r.err());
        assertTrue(err.contains(info.path("base_hash").asText()) && err.contains(otherHash) && err.contains(other.toString()), err);
        assertTrue(Files.notExists(dir.resolve("other.gif")));
    }

    @Test
    void runSavesADeltaWhenTheConfigSaysSo(@TempDir Path dir) throws Exception {
        Path model = Tav.tinyModel(), out = dir.resolve("out"), yaml = dir.resolve("delta.yaml");
        Files.writeString(yaml, SingleFileCommandsTest.yaml(model, out, "save_trainable_only: true"));
        Tav.Run r = Tav.run("run", yaml.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(!r.err().contains("save_trainable_only"), "a known key: " + r.err());
        JsonNode info = Json.read(out.resolve("unet").resolve(TunedDelta.FILE));
        assertEquals(TunedDelta.baseHash(CheckpointDir.open(model)), info.path("base_hash").asText());
        try (SafeTensors d = SafeTensors.open(out.resolve(WEIGHTS))) {
            assertTrue(d.names().stream().allMatch(n -> TrainableModules.matcher(TrainableModules.DEFAULT).test(n) || n.contains("_temp.")), d.names().toString());
        }
    }

    @Test
    void aDeltaCannotCarryAMergedLora(@TempDir Path dir) throws Exception {
        Path lora = dir.resolve("x.safetensors");
        Files.writeString(lora, "not read: refused first");
        Tav.Run r = tune(Tav.tinyModel(), dir.resolve("out"), "--save-trainable-only", "--lora", lora.toString());
        assertNotEquals(0, r.code());
        assertTrue(r.err().strip().startsWith("tav: --save-trainable-only with --lora"), r.err());
    }

    static Path copyOf(Path from, Path to) throws Exception {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
        return to;
    }

}
