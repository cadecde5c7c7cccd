package dev.tav4j.cli;

import dev.tav4j.model.io.Lora;
import dev.tav4j.model.io.LoraFile;
import dev.tav4j.model.io.SafeTensorsWriter;
import dev.tav4j.model.io.Weights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.tav4j.cli.Tav.*;
import dev.tav4j.cli.Tav.Run;
import static org.junit.jupiter.api.Assertions.*;

/** {@code --lora} on the command line: the golden a-lora LoRA on the tiny model, against a model merged beforehand. */
class LoraCliTest {
    static Path goldenLora() {
        Path f = dev.tav4j.model.golden.GoldenData.named("a-lora").dir().resolve("lora.safetensors");
        assertTrue(Files.isRegularFile(f), "golden a-lora case without its LoRA: " + f);
        return f;
    }

    private static String[] generate(Path model, Path out, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("generate", "--model", model.toString(), "--prompt", "a cat", "--frames", "2",
                "--height", "64", "--width", "64", "--seed", "3", "--steps", "2", "--out", out.toString()));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    /** A copy of {@code model} whose text encoder and UNet files hold the LoRA already merged. */
    static Path premerged(Path model, LoraFile lora, Path dir) throws IOException {
        Path copy = dir.resolve("merged-model");
        try (Stream<Path> all = Files.walk(model)) {
            for (Path p : all.toList()) {
                Path to = copy.resolve(model.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(to); else Files.copy(p, to);
            }
        }
        Lora l = Lora.read(List.of(lora));
        for (String[] c : new String[][]{{"unet", "diffusion_pytorch_model.safetensors"}, {"text_encoder", "model.safetensors"}}) {
            try (Weights base = Weights.open(c[0], model.resolve(c[0]).resolve(c[1]))) {
                Weights merged = l.apply(base);
                Map<String, int[]> shapes = new LinkedHashMap<>();
                for (String n : merged.names()) shapes.put(n, merged.shape(n));
                SafeTensorsWriter.writeEach(copy.resolve(c[0]).resolve(c[1]), shapes, n -> merged.load(n), Map.of());
            }
        }
        return copy;
    }

    @Test
    void generateWithLoraEqualsAPremergedModel(@TempDir Path dir) throws Exception {
        Path lora = goldenLora();
        Path withLora = dir.resolve("lora.gif"), merged = dir.resolve("merged.gif"), plain = dir.resolve("plain.gif");
        Run r = Tav.run(generate(tinyModel(), withLora, "--lora", lora + ":0.75"));
        assertEquals(0, r.code(), r.err());
        r = Tav.run(generate(premerged(tinyModel(), new LoraFile(lora, 0.75f), dir), merged));
        assertEquals(0, r.code(), r.err());
        r = Tav.run(generate(tinyModel(), plain));
        assertEquals(0, r.code(), r.err());
        Gifs.assertSameFrames(merged, withLora);
        Gifs.assertDifferentFrames(plain, withLora, "--lora changed nothing");
    }

    @Test
    void aLoraForAnotherModelIsRefusedInOneLine(@TempDir Path dir) {
        Map<String, dev.tav4j.runtime.Tensor> t = new LinkedHashMap<>();
        // attn2.to_k of a model whose context is 1024 wide (SD 2) where the tiny model's is 32
        t.put("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight", dev.tav4j.runtime.Tensor.zeros(4, 1024));
        t.put("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight", dev.tav4j.runtime.Tensor.zeros(32, 4));
        Path f = dir.resolve("sd2.safetensors");
        SafeTensorsWriter.write(f, t, Map.of());
        Path gif = dir.resolve("o.gif");
        Run r = Tav.run(generate(tinyModel(), gif, "--lora", f.toString()));
        assertNotEquals(0, r.code());
        List<String> errors = r.err().lines().filter(l -> l.startsWith("tav: ")).toList();
        assertEquals(1, errors.size(), r.err());
        String line = errors.getFirst();
        assertTrue(line.contains("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight")
                && line.contains("[4, 1024]") && line.contains("does not fit"), line);
        assertFalse(Files.exists(gif));
    }
}
