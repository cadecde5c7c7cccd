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

    /**
     * Where the test-only emulation module is not on the class path (the shipped jar), {@code tav doctor --device
     * cuda-emu} and {@code --device cuda-emu} say so in one line, and {@code tav info} lists it as not installed.
     */
    @Test
    void withoutTheEmulationModuleCudaEmuIsOneLineSayingItIsNotInstalled() throws Exception {
        String full = ChildJvm.classpath();
        String cp = java.util.Arrays.stream(full.split(java.io.File.pathSeparator))
                .filter(e -> !e.contains("tav4j-emulation") && !e.replace('\\', '/').contains("/emulation/target/"))
                .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
        assertTrue(cp.length() < full.length(), "the emulation is on the test class path: " + full);
        for (String[] args : new String[][] {{"doctor", "--device", "cuda-emu"}, {"demo", "--device", "cuda-emu", "--out", "unused"}}) {
            ChildRun r = child(cp, args);
            assertEquals(1, r.code(), r.err());
            assertEquals("tav: --device cuda-emu is not installed: the host emulation of the CUDA kernels is test support"
                    + " (module tav4j-emulation, on the class path in the tests), not part of this build; use --device cuda or cpu",
                    r.err().lines().filter(l -> !l.startsWith("WARNING:")).collect(java.util.stream.Collectors.joining("\n")), r.err());
        }
        ChildRun info = child(cp, "info");
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("cuda-emu not installed"), info.out());
    }

    private record ChildRun(int code, String out, String err) {}

    /** tav in a child JVM on class path {@code cp}. */
    private static ChildRun child(String cp, String... args) throws Exception {
        java.util.List<String> cmd = new java.util.ArrayList<>(ChildJvm.command(args));
        cmd.set(cmd.indexOf("-cp") + 1, cp);
        Path out = Files.createTempFile("tav-child", ".out"), err = Files.createTempFile("tav-child", ".err");
        try {
            Process p = ChildJvm.builder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            assertTrue(p.waitFor(2, java.util.concurrent.TimeUnit.MINUTES), "child finished");
            return new ChildRun(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    @Test
    void aDeviceOtherThanCudaIsRefusedInOneLine() {
        Tav.Run r = Tav.run("doctor", "--device", "cpu");
        assertEquals(1, r.code(), r.all());
        assertEquals("tav: --device must be cuda or cuda-emu, got 'cpu'", r.err().strip());
    }
}
