package dev.tav4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code tav doctor} on the host emulation (what CI has): the table, exit 0, the cache written and then used. The
 * failing paths (a broken kernel, fallback, stop) are SelfCheckTest's, in the kernels module.
 */
class DoctorCommandTest {
    @Test
    void doctorRunsOnTheEmulationAndCachesItsResult(@TempDir Path cache) throws Exception {
        long t0 = System.nanoTime();
        Tav.Run r = Tav.run("doctor", "--device", "cuda-emu", "--cache-dir", cache.toString());
        System.out.printf("tav doctor --device cuda-emu: %.1f s%n%s%s", (System.nanoTime() - t0) / 1e9, r.out(), r.err());
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().startsWith("device: emulated CUDA on the host"), r.out());
        assertTrue(r.out().contains("ATTENTION_GRAD_TC    bf16 ok"), r.out());
        assertTrue(r.out().contains("CONV2D_TC            fp16 ok"), r.out());
        assertTrue(r.out().contains("ELEMENTWISE          fp32 ok"), r.out());
        assertTrue(r.out().contains("doctor: every kernel family passed"), r.out());
        try (var files = Files.list(cache)) {
            assertEquals(3, files.filter(f -> f.getFileName().toString().matches("selfcheck-[0-9a-f]{16}-(fp32|bf16|fp16)\\.json")).count());
        }

        Tav.Run again = Tav.run("doctor", "--device", "cuda-emu", "--precision", "bf16", "--cache-dir", cache.toString());
        assertEquals(0, again.code(), again.all());
        assertTrue(again.out().contains("  cached: "), again.out());
    }

    @Test
    void aDeviceOtherThanCudaIsRefusedInOneLine() {
        Tav.Run r = Tav.run("doctor", "--device", "cpu");
        assertEquals(1, r.code(), r.all());
        assertEquals("tav: --device must be cuda or cuda-emu, got 'cpu'", r.err().strip());
    }
}
