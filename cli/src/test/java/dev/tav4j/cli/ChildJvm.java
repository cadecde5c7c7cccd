package dev.tav4j.cli;

import java.io.File;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * {@code dev.tav4j.cli.Main} in a child JVM with the ./tav launcher's flags: for what an in-process run cannot show,
 * such as the process's peak memory or what native code writes straight to file descriptor 2.
 */
final class ChildJvm {
    private ChildJvm() {}

    /**
     * The command line: java, the ./tav launcher's flags (scripts/jvm-flags), plus the Add-Opens its jar's manifest
     * carries; no heap or direct-memory limits; then Main and {@code args}.
     */
    static List<String> command(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of(Files.readString(Path.of("..", "scripts", "jvm-flags")).strip().split("\\s+")));
        cmd.addAll(List.of("--add-opens", "java.base/java.lang=ALL-UNNAMED", "-cp", classpath(), "dev.tav4j.cli.Main"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** A process builder for {@link #command}, without the environment's extra JVM options. */
    static ProcessBuilder builder(List<String> cmd) {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        for (String v : new String[]{"JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS", "TAV_JAVA_OPTS"}) env.remove(v);
        return pb;
    }

    /**
     * This JVM's classpath for the child: java.class.path, or, when surefire runs us from a manifest-only booter
     * jar, the Class-Path of that jar's manifest.
     */
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
