package dev.tav4j.model.io;

import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.tav4j.model.io.StBytes.*;
import static org.junit.jupiter.api.Assertions.*;

/** Weights read in place from the mapped file (F32) or converted once (F16), and a tuned folder in front of its base. */
class MappedWeightsTest {
    @TempDir Path tmp;

    private Path twoTensors() throws IOException {
        byte[] d = concat(f32(1.5f, -2f, 3f, 0.25f), u16(0x3C00, 0xC000));
        return file(tmp.resolve("w.safetensors"), "{" + entry("a", "F32", "[2,2]", 0, 16) + "," + entry("h", "F16", "[2]", 16, 20) + "}", d);
    }

    @Test
    void f32IsAReadOnlyViewThatOutlivesCloseAndF16AWritableCopy() throws IOException {
        Tensor a, h;
        try (SafeTensors st = SafeTensors.open(twoTensors())) {
            a = st.mapF32("a");
            h = st.mapF32("h");
        }
        // the file is closed, but the view keeps the mapping alive until it is closed itself
        try (a; h) {
            assertTrue(a.isReadOnly(), "an F32 tensor is viewed in place, not copied");
            assertArrayEquals(new float[]{1.5f, -2f, 3f, 0.25f}, a.toArray());
            assertThrows(RuntimeException.class, () -> a.set(0, 9f), "the view refuses writes");
            assertFalse(h.isReadOnly(), "a converted tensor is a copy of its own");
            assertArrayEquals(new float[]{1f, -2f}, h.toArray());
        }
    }

    @Test
    void makeWritableGivesTheSameObjectACopy() throws IOException {
        try (SafeTensors st = SafeTensors.open(twoTensors()); Tensor a = st.mapF32("a")) {
            a.makeWritable();
            assertFalse(a.isReadOnly());
            a.set(0, 9f);
            assertArrayEquals(new float[]{9f, -2f, 3f, 0.25f}, a.toArray());
            try (Tensor again = st.mapF32("a")) {
                assertEquals(1.5f, again.get(0), "the file is untouched");
            }
        }
    }

    @Test
    void fileWeightsLoadViews() throws IOException {
        try (Weights w = Weights.open("unet", twoTensors()); Tensor a = w.load("a", 2, 2)) {
            assertTrue(a.isReadOnly());
            assertEquals(-2f, a.get(1));
        }
    }

    @Test
    void aCompleteTunedFolderNeverOpensTheBase() throws IOException {
        AtomicInteger opened = new AtomicInteger();
        Path tuned = file(tmp.resolve("t.safetensors"), "{" + entry("a", "F32", "[1]", 0, 4) + "}", f32(7f));
        try (Weights w = Weights.withFallback(Weights.open("unet", tuned), () -> { opened.incrementAndGet(); throw new AssertionError("base opened"); });
             Tensor a = w.load("a", 1)) {
            assertEquals(7f, a.get(0));
            assertEquals(0, opened.get());
        }
    }

    @Test
    void aPartialTunedFolderTakesTheRestFromTheBase() throws IOException {
        Files.createDirectories(tmp.resolve("b"));
        Path tuned = file(tmp.resolve("t.safetensors"), "{" + entry("a", "F32", "[1]", 0, 4) + "}", f32(7f));
        Path base = file(tmp.resolve("b/base.safetensors"), "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 4, 8) + "}", f32(1f, 2f));
        AtomicInteger opened = new AtomicInteger();
        try (Weights w = Weights.withFallback(Weights.open("unet", tuned), () -> { opened.incrementAndGet(); return Weights.open("unet", base); })) {
            try (Tensor a = w.load("a", 1); Tensor b = w.load("b", 1)) {
                assertEquals(7f, a.get(0), "the tuned value wins");
                assertEquals(2f, b.get(0), "what the tuned folder lacks comes from the base");
            }
            assertEquals(1, opened.get());
            MissingWeightException e = assertThrows(MissingWeightException.class, () -> w.load("c", 1));
            assertTrue(e.getMessage().contains("'c'"), e.getMessage());
        }
    }
}
