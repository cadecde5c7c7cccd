package dev.tav4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code tav generate --model FILE.safetensors --config DIR}: the same video as from the diffusers folder. */
class SingleFileCliTest {
    @Test void generateFromTheSingleFileEqualsTheFolder(@TempDir Path dir) throws Exception {
        Path model = Tav.tinyModel();
        Path ldm = model.resolveSibling("tiny-sd-a.ldm.safetensors");
        Path a = dir.resolve("folder.gif"), b = dir.resolve("single.gif");
        String[] common = {"--prompt", "a man is skiing", "--frames", "2", "--height", "32", "--width", "32", "--seed", "3", "--steps", "2"};
        Tav.Run r1 = Tav.run(concat(new String[]{"generate", "--model", model.toString(), "--out", a.toString()}, common));
        assertEquals(0, r1.code(), r1.err());
        Tav.Run r2 = Tav.run(concat(new String[]{"generate", "--model", ldm.toString(), "--config", model.toString(), "--out", b.toString()}, common));
        assertEquals(0, r2.code(), r2.err());
        Gifs.assertSameFrames(a, b);
    }

    @Test void unknownArchitectureWithoutConfigIsOneLine(@TempDir Path dir) {
        Path ldm = Tav.tinyModel().resolveSibling("tiny-sd-a.ldm.safetensors");
        Tav.Run r = Tav.run("generate", "--model", ldm.toString(), "--prompt", "x", "--seed", "1", "--out", dir.resolve("x.gif").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("not the standard SD 1.x or SD 2.x architecture") && r.err().contains("--config"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
