package dev.tav4j.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The embedding example ({@code examples/embedding}): a project of its own that depends on the installed tav4j
 * artifacts, built by this build's Maven with its local repository, then run with no {@code --add-modules} twice: on
 * the module path, where the kernels' descriptor brings jdk.incubator.vector in (Vector API kernels, no warning), and
 * on the class path, where the JVM leaves that module out and the cpu backend runs its scalar kernels after one
 * warning line (issue 14). Its runtime class path (target/lib) holds no FFmpeg, JMH or picocli.
 * It needs the library jars this build made in the local repository: {@code ./test.sh} runs {@code mvn install}, and
 * the cli module's tests run after the library modules were installed. When the installed jars are missing or not
 * the ones in the modules' target folders (e.g. {@code mvn verify}, or a targeted run after a rebuild), it is skipped
 * and says so.
 */
class EmbeddingExampleTest {
    static final String VERSION = "0.1.0-SNAPSHOT";
    static final List<String> LIBRARY = List.of("bindings", "runtime", "kernels", "model");

    @Test
    void buildsAndRunsAgainstTheInstalledArtifacts(@TempDir Path tmp) throws Exception {
        Path root = Path.of("..").toAbsolutePath().normalize();
        Path repo = Path.of(property("tav.m2.repo"));
        for (String m : LIBRARY) {
            Path built = root.resolve(m).resolve("target").resolve("tav4j-" + m + "-" + VERSION + ".jar");
            Path installed = repo.resolve("dev/tav4j/tav4j-" + m + "/" + VERSION + "/tav4j-" + m + "-" + VERSION + ".jar");
            Assumptions.assumeTrue(Files.isRegularFile(built) && Files.isRegularFile(installed) && Files.mismatch(built, installed) == -1,
                    "the embedding example needs this build's tav4j-" + m + " installed in " + repo
                            + " (run ./test.sh, which runs mvn install, or mvn install -DskipTests first)");
        }

        // a copy, so that its target/ does not land in the source tree
        Path example = tmp.resolve("embedding");
        copy(root.resolve("examples/embedding"), example);
        List<String> mvn = new ArrayList<>(List.of(Path.of(property("maven.home"), "bin", "mvn").toString(), "-B", "-q",
                "-Dmaven.repo.local=" + repo, "-f", example.resolve("pom.xml").toString(), "package"));
        if (System.getProperty("tav.m2.offline", "").equals("offline:true")) mvn.add(1, "-o");  // as this build runs
        run(mvn, tmp.resolve("mvn.log"), 600);

        Path lib = example.resolve("target/lib");
        List<String> jars;
        try (Stream<Path> s = Files.list(lib)) {
            jars = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertTrue(jars.contains("tav4j-model-" + VERSION + ".jar") && jars.contains("tav4j-kernels-" + VERSION + ".jar"), jars.toString());
        for (String j : jars)
            for (String banned : List.of("ffmpeg", "javacpp", "javacv", "jmh", "picocli", "tav4j-video", "tav4j-bench", "tav4j-emulation"))
                assertFalse(j.contains(banned), "a service depending on tav4j-model gets " + j + " on its class path: " + jars);

        Path gif = tmp.resolve("out.gif");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        String modulePath = lib + File.pathSeparator + example.resolve("target/tav4j-embedding-example.jar");
        String out = run(List.of(java.toString(), "--enable-native-access=dev.tav4j.runtime,dev.tav4j.bindings", "-p", modulePath,
                "-m", "dev.tav4j.example/dev.tav4j.example.Embed", gif.toString()), tmp.resolve("run.log"), 600);
        assertTrue(out.contains("embedding example: 4 frames 64x64 on cpu"), out);
        assertFalse(out.contains("NoClassDefFoundError") || out.contains("Exception in thread"), out);
        assertFalse(out.contains(NO_VECTOR_API), "on the module path the Vector API comes in by itself:\n" + out);
        assertEquals(4, gifFrames(gif), "frames in " + gif);

        // the same jars on the class path, still no --add-modules: scalar kernels and one warning that says so
        Path gifCp = tmp.resolve("out-classpath.gif");
        List<String> classPath = new ArrayList<>();
        for (String j : jars) classPath.add(lib.resolve(j).toString());
        classPath.add(example.resolve("target/tav4j-embedding-example.jar").toString());
        String outCp = run(List.of(java.toString(), "--enable-native-access=ALL-UNNAMED", "-cp",
                String.join(File.pathSeparator, classPath), "dev.tav4j.example.Embed", gifCp.toString()), tmp.resolve("run-cp.log"), 900);
        assertTrue(outCp.contains("embedding example: 4 frames 64x64 on cpu"), outCp);
        assertFalse(outCp.contains("NoClassDefFoundError") || outCp.contains("Exception in thread"), outCp);
        List<String> warnings = outCp.lines().filter(l -> l.contains(NO_VECTOR_API)).toList();
        assertEquals(1, warnings.size(), "one warning per process:\n" + outCp);
        assertTrue(warnings.getFirst().contains("--add-modules jdk.incubator.vector"), warnings.getFirst());
        assertEquals(4, gifFrames(gifCp), "frames in " + gifCp);
    }

    /** The start of the cpu backend's warning when the JVM has no jdk.incubator.vector (kernels' VectorApi). */
    static final String NO_VECTOR_API = "jdk.incubator.vector is not in this JVM: the cpu backend's kernels run as scalar loops";

    private static String property(String name) {
        String v = System.getProperty(name);
        Assumptions.assumeTrue(v != null && !v.isBlank(), "system property " + name + " is not set (the cli pom sets it for surefire)");
        return v;
    }

    /** Runs {@code cmd}, stdout and stderr into {@code log}; fails with the log's end unless it exits 0. Returns the log. */
    private static String run(List<String> cmd, Path log, int seconds) throws Exception {
        ProcessBuilder pb = ChildJvm.builder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        boolean done = p.waitFor(seconds, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly().waitFor();
        String text = Files.readString(log, StandardCharsets.UTF_8);
        String tail = text.length() > 4000 ? text.substring(text.length() - 4000) : text;
        assertTrue(done, String.join(" ", cmd) + " ran over " + seconds + " s:\n" + tail);
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " failed:\n" + tail);
        return text;
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path f : s.filter(p -> !from.relativize(p).startsWith("target")).toList()) {
                Path t = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) Files.createDirectories(t);
                else Files.copy(f, t);
            }
        }
    }

    private static int gifFrames(Path gif) throws IOException {
        ImageReader reader = ImageIO.getImageReadersByFormatName("gif").next();
        try (ImageInputStream in = ImageIO.createImageInputStream(gif.toFile())) {
            reader.setInput(in);
            return reader.getNumImages(true);
        } finally {
            reader.dispose();
        }
    }
}
