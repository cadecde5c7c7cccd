package dev.tav4j.model.golden;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, "No flag required": a fresh JVM on the class path with no {@code --add-modules jdk.incubator.vector}
 * (where every class that names FloatVector fails to load) runs the golden cases of CLIP, the VAE, the UNet and tuning
 * ({@link NoVectorApiGoldenMain}) on the cpu backend's scalar kernels, within the golden suite's tolerances, and
 * says once on stderr what that costs and which flag to add.
 */
class NoVectorApiTest {
    static final String WARNING = "jdk.incubator.vector is not in this JVM: the cpu backend's kernels run as scalar loops";

    @Test
    void goldenCasesPassOnTheScalarKernelsWithOneWarning(@TempDir Path tmp) throws Exception {
        GoldenData.root();  // skips, saying why, where the golden data is missing
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx2g", "-Xss4m",
                "-Dtav.golden.default=" + GoldenData.root(), "-cp", classpath(), NoVectorApiGoldenMain.class.getName(),
                "text_encode", "vae", "unet3d", "train"));
        for (String a : cmd) assertFalse(a.contains("jdk.incubator.vector"), "the child must run without the module: " + cmd);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        for (String v : new String[] {"JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS", "TAV_GOLDEN"}) env.remove(v);
        Path out = tmp.resolve("out.log"), err = tmp.resolve("err.log");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        boolean done = p.waitFor(900, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly().waitFor();
        String stdout = Files.readString(out, StandardCharsets.UTF_8), stderr = Files.readString(err, StandardCharsets.UTF_8);
        String both = stdout + "\n--- stderr ---\n" + stderr;
        System.out.println(both);
        assertTrue(done, "the child ran over 900 s:\n" + both);
        assertEquals(0, p.exitValue(), "the golden cases failed on the scalar kernels:\n" + both);
        assertTrue(stdout.contains("kernels: scalar, jdk.incubator.vector absent"), both);
        for (String op : new String[] {"(text_encode)", "(vae)", "(unet3d)", "(train)"})
            assertTrue(stdout.contains(op), "a golden case of " + op + " ran:\n" + both);
        assertTrue(stdout.matches("(?s).*passed: [1-9]\\d*.*"), both);
        assertFalse(stdout.contains("FAIL"), both);
        long warnings = stderr.lines().filter(l -> l.contains(WARNING)).count();
        assertEquals(1, warnings, "one warning line per process:\n" + stderr);
        String line = stderr.lines().filter(l -> l.contains(WARNING)).findFirst().orElseThrow();
        assertTrue(line.contains("--add-modules jdk.incubator.vector") && line.matches(".*about \\d+(\\.\\d+)?x slower.*"), line);
        assertFalse(stderr.contains("NoClassDefFoundError") || stderr.contains("Exception"), stderr);
    }

    /** This JVM's class path: java.class.path, or the Class-Path of surefire's manifest-only booter jar. */
    static String classpath() throws Exception {
        String cp = System.getProperty("java.class.path");
        String[] parts = cp.split(File.pathSeparator);
        if (parts.length != 1 || !parts[0].endsWith(".jar")) return cp;
        try (JarFile jar = new JarFile(parts[0])) {
            Manifest mf = jar.getManifest();
            String listed = mf == null ? null : mf.getMainAttributes().getValue("Class-Path");
            if (listed == null || listed.isBlank()) return cp;
            List<String> paths = new ArrayList<>();
            URI base = Path.of(parts[0]).toUri();
            for (String u : listed.trim().split("\\s+")) paths.add(Path.of(base.resolve(u)).toString());
            return String.join(File.pathSeparator, paths);
        }
    }
}
