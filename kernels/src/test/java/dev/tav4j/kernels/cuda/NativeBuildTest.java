package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.Backends;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The checked-in PTX against native/src, and the "cuda" backend's honesty about what it can run. */
class NativeBuildTest {
    private static final Path NATIVE = Path.of(System.getProperty("tav.native.dir", "../native"));

    /**
     * native/build.sh --check: fails when the sources changed since the PTX was built (always checked, through
     * their fingerprint) or, where nvcc exists, when nvcc's output differs from the checked-in PTX.
     */
    @Test
    void checkedInPtxMatchesSources() throws Exception {
        assumeTrue(Files.isRegularFile(NATIVE.resolve("build.sh")), "native/ not found at " + NATIVE.toAbsolutePath());
        String stamp = System.getProperty("tav.ptx.stamp.dir", "target/ptx-check");
        Process p = new ProcessBuilder("bash", NATIVE.resolve("build.sh").toString(), "--check", stamp)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "build.sh --check did not finish");
        assertEquals(0, p.exitValue(), out);
    }

    @Test
    void ptxResourceHoldsEveryKernelCudaOpsLaunches() {
        String ptx = new String(Ptx.bytes(), StandardCharsets.US_ASCII);
        for (String name : List.of("attention_d40_f32", "attention_temporal_d160_bf16", "groupnorm_partial_f32",
                "groupnorm_apply_bf16", "groupnorm_finalize", "conv2d_f16", "layernorm_f32", "axpby_f32", "permute_f32"))
            assertTrue(ptx.contains(".entry " + name + "("), name + " missing from the PTX");
        assertTrue(ptx.contains(".target sm_80"), "PTX is not built for compute_80");
    }

    @Test
    void cudaProviderIsRegisteredAndNeverEmulated() {
        BackendProvider cuda = Backends.providers().stream().filter(p -> p.name().equals("cuda")).findFirst().orElseThrow();
        assertEquals(10, cuda.priority());
        BackendProvider.Availability a = cuda.probe();
        assertFalse(a.reason().isBlank(), "the probe must say why (or what it found)");
        if (a.available()) assertTrue(a.reason().toLowerCase().contains("cuda") || a.reason().contains("sm_"), a.reason());
        // the emulation is a backend only because its test-only jar is on this class path, and auto never picks it
        for (BackendProvider p : Backends.providers()) {
            if (!p.name().startsWith("cuda-emu")) continue;
            assertFalse(p.selectedByAuto(), "auto must never pick the emulation");
            assertTrue(p.getClass().getName().startsWith("dev.tav4j.emulation."), "the emulation's provider lives in its own module: " + p.getClass());
        }
    }
}
