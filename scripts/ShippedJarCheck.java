import java.io.IOException;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Build check (the cli module runs it in the verify phase): what the shipped jars hold, by their entries (as
 * {@code unzip -l} lists them).
 * <ul>
 * <li>The CLI jar ({@code cli/target/tav.jar}): no test support (the host emulation of the CUDA kernels, module
 *     tav4j-emulation: EmulatedDeviceApi, HostGemm, the "cuda-emu" provider), no JMH (the op benchmarks are in
 *     bench-jmh's own jar) and no FFmpeg natives of a {@code -gpl} build.</li>
 * <li>Each library jar after {@code --library} (bindings, runtime, kernels, model, video): no FFmpeg or JavaCPP
 *     classes or natives, no JMH, no picocli, no test support; a named module (module-info.class) that exports or
 *     opens every package it holds, so the library works from the module path too.</li>
 * </ul>
 * Run: java scripts/ShippedJarCheck.java CLI_JAR [--library JAR...]
 */
public class ShippedJarCheck {
    public static void main(String[] args) throws IOException {
        if (args.length < 1 || (args.length > 1 && !args[1].equals("--library")))
            throw new IllegalArgumentException("usage: java ShippedJarCheck.java CLI_JAR [--library JAR...]");
        List<String> found = new ArrayList<>();
        int n = check(args[0], false, found);
        if (found.isEmpty())
            System.out.println("shipped-jar check: " + args[0] + " (" + n + " entries) holds no test support, no JMH and no -gpl natives");
        for (int i = 2; i < args.length; i++) {
            int before = found.size();
            n = check(args[i], true, found);
            if (found.size() == before)
                System.out.println("shipped-jar check: " + args[i] + " (" + n + " entries): a named module with no FFmpeg, JMH, picocli or test support");
        }
        if (!found.isEmpty()) {
            System.err.println("shipped-jar check failed:");
            for (String f : found) System.err.println("  " + f);
            System.exit(1);
        }
    }

    private static int check(String path, boolean library, List<String> found) throws IOException {
        int n = 0;
        boolean descriptor = false;
        Set<String> classPackages = new TreeSet<>();
        try (ZipFile jar = new ZipFile(path)) {
            for (Enumeration<? extends ZipEntry> e = jar.entries(); e.hasMoreElements(); n++) {
                ZipEntry z = e.nextElement();
                String name = z.getName();
                String file = name.substring(name.lastIndexOf('/') + 1);
                if (name.startsWith("dev/tav4j/emulation/") || file.startsWith("EmulatedDeviceApi") || file.startsWith("HostGemm")
                        || file.startsWith("EmulatedBackend") || file.startsWith("libtav_emu")
                        || name.startsWith("META-INF/maven/dev.tav4j/tav4j-emulation/"))
                    found.add(path + ": test support (the host emulation belongs in the tests only): " + name);
                if (name.startsWith("META-INF/services/")) {
                    String text = new String(jar.getInputStream(z).readAllBytes(), StandardCharsets.UTF_8);
                    for (String line : text.lines().toList())
                        if (line.contains("emulation") || line.contains("Emulated"))
                            found.add(path + ": test support provider: " + name + ": " + line.strip());
                }
                if (name.startsWith("org/openjdk/jmh/") || name.startsWith("META-INF/maven/org.openjdk.jmh/") || name.equals("META-INF/BenchmarkList"))
                    found.add(path + ": JMH (only bench-jmh's benchmarks.jar holds it): " + name);
                if (name.startsWith("org/bytedeco/") && name.contains("-gpl/"))
                    found.add(path + ": natives of FFmpeg's GPL build (the LGPL build is used): " + name);
                if (library) {
                    if (name.startsWith("org/bytedeco/") || name.startsWith("META-INF/maven/org.bytedeco/"))
                        found.add(path + ": FFmpeg/JavaCPP in a library jar: " + name);
                    if (name.startsWith("picocli/") || name.startsWith("META-INF/maven/info.picocli/"))
                        found.add(path + ": picocli in a library jar: " + name);
                    if (name.equals("module-info.class")) descriptor = true;
                    else if (name.endsWith(".class") && name.contains("/") && !name.startsWith("META-INF/"))
                        classPackages.add(name.substring(0, name.lastIndexOf('/')).replace('/', '.'));
                }
            }
        }
        if (library) {
            if (!descriptor) found.add(path + ": no module-info.class (the library modules are named modules)");
            else exportsEverything(path, classPackages, found);
        }
        return n;
    }

    /**
     * Every package with classes is exported or opened: one left out is invisible from the module path. (Folders of
     * resources the module reads itself, such as the built-in configs, stay encapsulated.)
     */
    private static void exportsEverything(String path, Set<String> classPackages, List<String> found) {
        for (ModuleReference ref : ModuleFinder.of(Path.of(path)).findAll()) {
            ModuleDescriptor d = ref.descriptor();
            Set<String> open = new TreeSet<>();
            d.exports().forEach(x -> open.add(x.source()));
            d.opens().forEach(x -> open.add(x.source()));
            for (String p : classPackages)
                if (!open.contains(p))
                    found.add(path + ": module " + d.name() + " neither exports nor opens package " + p
                            + " (add \"exports " + p + ";\" to its src/main/java/module-info.java)");
        }
    }
}
