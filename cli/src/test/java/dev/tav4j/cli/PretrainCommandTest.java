package dev.tav4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.config.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code tav pretrain} at test scale: the folder, its use as --model, resuming, and one-line refusals. */
class PretrainCommandTest {
    @Test void trainsWritesAFolderThatGeneratesAndResumes(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("model");
        Tav.Run r = Tav.run("pretrain", "--out", out.toString(), "--preset", "tiny", "--steps", "2", "--seed", "5");
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("vae: ") && r.out().contains("unet: ") && r.out().contains("s/step"), r.out());
        for (String f : new String[]{"model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors", "vae/config.json",
                "vae/diffusion_pytorch_model.safetensors", "text_encoder/config.json", "text_encoder/model.safetensors", "tokenizer/vocab.json",
                "tokenizer/merges.txt", "scheduler/scheduler_config.json", "logs/vae.csv", "logs/unet.csv", "samples/vae-reconstructions.png",
                "samples/unet-samples.gif", "checkpoints/unet/checkpoint-2/state.json"})
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        JsonNode m = Json.read(out.resolve("pretrain.json"));
        assertEquals(5, m.get("seed").asInt());
        assertEquals(2, m.path("stages").path("unet").path("steps").asInt(), m.toString());
        assertEquals(3, Files.readAllLines(out.resolve("logs/unet.csv")).size(), "a header and a line per step");

        Path gif = tmp.resolve("gen.gif");
        Tav.Run g = Tav.run("generate", "--model", out.toString(), "--prompt", "a red circle is moving right on a blue background",
                "--height", "32", "--width", "32", "--frames", "4", "--steps", "3", "--seed", "1", "--out", gif.toString());
        assertEquals(0, g.code(), g.all());
        assertTrue(Files.size(gif) > 0);

        Tav.Run again = Tav.run("pretrain", "--out", out.toString(), "--preset", "tiny", "--steps", "2", "--seed", "5");
        assertEquals(1, again.code(), again.all());
        assertTrue(again.err().contains("--resume"), again.err());
        Tav.Run more = Tav.run("pretrain", "--out", out.toString(), "--preset", "tiny", "--steps", "3", "--seed", "5", "--stage", "unet", "--resume");
        assertEquals(0, more.code(), more.all());
        assertTrue(more.out().contains("unet: ") && more.out().contains("steps 2→3"), more.out());
        Tav.Run other = Tav.run("pretrain", "--out", out.toString(), "--preset", "tiny", "--steps", "3", "--seed", "6", "--resume");
        assertEquals(1, other.code(), other.all());
        assertTrue(other.err().contains("another pretraining run"), other.err());
    }

    @Test void badOptionsAreOneLine(@TempDir Path tmp) throws Exception {
        Path notEmpty = Files.createDirectories(tmp.resolve("full"));
        Files.writeString(notEmpty.resolve("x.txt"), "x");
        for (String[] args : new String[][]{
                {"pretrain", "--out", tmp.resolve("a").toString(), "--stage", "text"},
                {"pretrain", "--out", tmp.resolve("b").toString(), "--preset", "huge"},
                {"pretrain", "--out", tmp.resolve("c").toString(), "--steps", "0"},
                {"pretrain", "--out", tmp.resolve("d").toString(), "--preset", "tiny", "--stage", "unet"},
                {"pretrain", "--out", notEmpty.toString(), "--preset", "tiny"}}) {
            Tav.Run r = Tav.run(args);
            assertEquals(1, r.code(), r.all());
            assertEquals(1, r.err().strip().lines().filter(l -> !l.startsWith("backend:")).count(), r.err());
        }
    }
}
