package dev.tav4j.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * No CPU kernel allocates per call once the JIT has compiled it: a kernel whose vector loop C2 did not keep in
 * registers boxes every vector (the "slow mode", docs/performance.md) and allocates a multiple of the bytes it
 * touches per call. Not a timing test: it counts heap bytes ({@link KernelAllocationProbe}). It runs in a fresh JVM,
 * as a user's process would start, with -Xbatch (each compilation finishes before the call that asked for it goes
 * on, so the warm-up is the same on a busy machine) and compile thresholds scaled to a tenth (a short warm-up);
 * the probe first runs the Vector API on other species, so that the JDK's shared type profiles are polymorphic as
 * in a process where other code uses it, then meets full tiles first and edges afterwards, the order that used to
 * recompile kernels past C2's inlining budget, and gives a kernel that still allocates one more warm-up before it
 * counts as failed. Twice: with tiered compilation (the default) and with C2 alone (profiles from the
 * interpreter), two different histories for the same code.
 */
class SteadyStateAllocationTest {
    @ParameterizedTest
    @ValueSource(strings = {"-XX:+TieredCompilation", "-XX:-TieredCompilation"})
    void everyKernelRunsWithoutAllocatingOnceCompiled(String tiers) throws IOException, InterruptedException {
        Path log = Files.createTempFile("kernel-allocation", ".log");
        try {
            List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xbatch", tiers, "-XX:CompileThresholdScaling=0.1", "-Xmx1g",
                    "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path"), KernelAllocationProbe.class.getName(), "40", "20",
                    "pollute");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            boolean done = p.waitFor(240, TimeUnit.SECONDS);
            if (!done) p.destroyForcibly().waitFor();
            String out = Files.readString(log);
            System.out.println(out);
            assertTrue(done, "the allocation probe did not finish in 240 s:\n" + out);
            assertEquals(0, p.exitValue(), "CPU kernels allocate per call in steady state (" + tiers + "):\n" + out);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** The scalar twins (issue 14) under the same rule: per-thread buffers, nothing per call that grows with tensors. */
    @org.junit.jupiter.api.Test
    void theScalarKernelsRunWithoutAllocatingOnceCompiled() throws IOException, InterruptedException {
        Path log = Files.createTempFile("kernel-allocation-scalar", ".log");
        try {
            List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xbatch", "-XX:CompileThresholdScaling=0.1", "-Xmx1g",
                    "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path"), KernelAllocationProbe.class.getName(), "40", "20",
                    "scalar");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            boolean done = p.waitFor(240, TimeUnit.SECONDS);
            if (!done) p.destroyForcibly().waitFor();
            String out = Files.readString(log);
            System.out.println(out);
            assertTrue(done, "the allocation probe did not finish in 240 s:\n" + out);
            assertTrue(out.contains("scalar kernels"), out);
            assertEquals(0, p.exitValue(), "scalar CPU kernels allocate per call in steady state:\n" + out);
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
