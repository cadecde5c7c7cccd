package dev.tav4j.bindings.cuda;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where to look for the CUDA driver and cuBLAS, in order. Pure: the environment comes in as an {@link Env}, so
 * the order and the directory scanning are unit-tested without any CUDA library on the machine.
 * <ul>
 * <li>driver: {@code -Dtav.cuda.driver=PATH}, then {@code libcuda.so.1} through the loader, then the places
 * container runtimes and distributions put it;</li>
 * <li>cuBLAS: {@code -Dtav.cublas=PATH} (file or directory), {@code $CUDA_HOME/lib64}, the loader path, common
 * locations, then Python site-packages ({@code nvidia/cublas/lib}, {@code nvidia/cu13/lib}, where the pip
 * wheels that PyTorch pulls in put libcublas).</li>
 * </ul>
 */
public final class LibraryLocator {
    public static final String DRIVER_PROPERTY = "tav.cuda.driver";
    public static final String CUBLAS_PROPERTY = "tav.cublas";
    static final List<String> CUBLAS_SONAMES = List.of("libcublas.so.13", "libcublas.so.12", "libcublas.so");
    static final List<String> WHEEL_LIB_DIRS = List.of("nvidia/cublas/lib", "nvidia/cu13/lib", "nvidia/cu12/lib");

    private LibraryLocator() {}

    /** One place to try: an absolute path or a soname for the loader, and the rule that produced it. */
    public record Candidate(String target, String origin) {
        @Override public String toString() { return target + " [" + origin + "]"; }
    }

    /**
     * The environment the search reads: system properties, environment variables, the fixed directories to
     * look in and the roots under which Python environments keep {@code python3.X/site-packages}.
     */
    public record Env(Function<String, String> property, Function<String, String> env,
                      List<Path> driverDirs, List<Path> commonDirs, List<Path> pythonLibRoots) {
        /**
         * The search with the fixed directories of this platform and the Python roots that {@code property}
         * ({@code user.home}) and {@code env} ({@code VIRTUAL_ENV}, {@code CONDA_PREFIX}) add. Nothing is read from
         * the process here: the entry point passes what it read (or {@code k -> null} for the fixed places only).
         */
        public static Env of(Function<String, String> property, Function<String, String> env) {
            List<Path> roots = new ArrayList<>();
            for (String p : new String[] {"/usr/lib", "/usr/local/lib", "/opt/conda/lib"}) roots.add(Path.of(p));
            String home = property.apply("user.home");
            if (home != null && !home.isBlank()) roots.add(Path.of(home, ".local", "lib"));
            for (String var : new String[] {"VIRTUAL_ENV", "CONDA_PREFIX"}) {
                String v = env.apply(var);
                if (v != null && !v.isBlank()) roots.add(Path.of(v, "lib"));
            }
            roots.addAll(glob(Path.of("/opt"), "*").stream()
                    .flatMap(d -> List.of(d.resolve(".venv/lib"), d.resolve("venv/lib"), d.resolve("lib")).stream())
                    .toList());
            return new Env(property, env,
                    List.of(Path.of("/usr/lib/x86_64-linux-gnu"), Path.of("/usr/local/nvidia/lib64"),
                            Path.of("/usr/lib64"), Path.of("/usr/lib/wsl/lib")),
                    List.of(Path.of("/usr/local/cuda/lib64"), Path.of("/usr/lib/x86_64-linux-gnu"),
                            Path.of("/usr/local/nvidia/lib64"), Path.of("/usr/lib64")),
                    roots);
        }

        /** The fixed places and the loader path only: no properties, no environment. */
        public static Env fixed() {
            return of(k -> null, k -> null);
        }
    }

    /** Places to try for the driver library, in order. */
    public static List<Candidate> driverCandidates(Env env) {
        List<Candidate> out = new ArrayList<>();
        String prop = env.property().apply(DRIVER_PROPERTY);
        if (prop != null && !prop.isBlank()) out.add(new Candidate(prop, "-D" + DRIVER_PROPERTY));
        out.add(new Candidate("libcuda.so.1", "loader path"));
        for (Path d : env.driverDirs()) {
            Path f = d.resolve("libcuda.so.1");
            if (Files.exists(f)) out.add(new Candidate(f.toString(), "common location"));
        }
        return out;
    }

    /** Places to try for cuBLAS, in order. */
    public static List<Candidate> cublasCandidates(Env env) {
        List<Candidate> out = new ArrayList<>();
        String prop = env.property().apply(CUBLAS_PROPERTY);
        if (prop != null && !prop.isBlank()) {
            Path p = Path.of(prop);
            String origin = "-D" + CUBLAS_PROPERTY;
            if (Files.isDirectory(p)) bestIn(p, "libcublas").ifPresentOrElse(
                    f -> out.add(new Candidate(f.toString(), origin)),
                    () -> out.add(new Candidate(p.resolve("libcublas.so").toString(), origin)));
            else out.add(new Candidate(prop, origin));
        }
        String cudaHome = env.env().apply("CUDA_HOME");
        if (cudaHome != null && !cudaHome.isBlank())
            bestIn(Path.of(cudaHome, "lib64"), "libcublas").ifPresent(f -> out.add(new Candidate(f.toString(), "$CUDA_HOME/lib64")));
        for (String soname : CUBLAS_SONAMES) out.add(new Candidate(soname, "loader path"));
        for (Path d : env.commonDirs())
            bestIn(d, "libcublas").ifPresent(f -> out.add(new Candidate(f.toString(), "common location")));
        for (Path sp : sitePackages(env))
            for (String sub : WHEEL_LIB_DIRS)
                bestIn(sp.resolve(sub), "libcublas").ifPresent(f -> out.add(new Candidate(f.toString(), "python site-packages")));
        return out.stream().distinct().toList();
    }

    /** Every {@code python3*}/{@code site-packages|dist-packages} under the roots, plus $PYTHONPATH entries. */
    static List<Path> sitePackages(Env env) {
        List<Path> out = new ArrayList<>();
        String pp = env.env().apply("PYTHONPATH");
        if (pp != null) for (String s : pp.split(":")) if (!s.isBlank()) out.add(Path.of(s));
        for (Path root : env.pythonLibRoots())
            for (Path py : glob(root, "python3*"))
                for (String kind : new String[] {"site-packages", "dist-packages"}) {
                    Path sp = py.resolve(kind);
                    if (Files.isDirectory(sp)) out.add(sp);
                }
        for (Path root : env.pythonLibRoots()) if (Files.isDirectory(root.resolve("python3/dist-packages")))
            out.add(root.resolve("python3/dist-packages"));
        return out.stream().distinct().toList();
    }

    private static final Pattern SO = Pattern.compile("(lib[A-Za-z]+)\\.so((?:\\.\\d+)*)");

    /**
     * The best {@code stem.so[.N[.M]]} file in {@code dir}: the highest version, a plain {@code stem.so} last.
     * {@code libcublasLt.so.13} does not match stem {@code libcublas}.
     */
    public static Optional<Path> bestIn(Path dir, String stem) {
        if (!Files.isDirectory(dir)) return Optional.empty();
        return glob(dir, stem + ".so*").stream()
                .filter(p -> {
                    Matcher m = SO.matcher(p.getFileName().toString());
                    return m.matches() && m.group(1).equals(stem) && Files.isRegularFile(p);
                })
                .max(Comparator.comparing(LibraryLocator::versionKey));
    }

    /** Version numbers after ".so", zero-padded so that 13 &gt; 12.9 &gt; (none) compare as strings. */
    private static String versionKey(Path p) {
        Matcher m = SO.matcher(p.getFileName().toString());
        if (!m.matches() || m.group(2).isEmpty()) return "";
        StringBuilder k = new StringBuilder();
        for (String part : m.group(2).substring(1).split("\\.")) k.append(String.format("%08d.", Long.parseLong(part)));
        return k.toString();
    }

    /** The companion library in the same directory with the same version suffix, e.g. libcublasLt.so.13 for libcublas.so.13. */
    public static Optional<Path> companion(Path library, String stem, String companionStem) {
        String name = library.getFileName().toString();
        if (!name.startsWith(stem + ".so")) return Optional.empty();
        Path c = library.resolveSibling(companionStem + name.substring(stem.length()));
        return Files.exists(c) ? Optional.of(c) : bestIn(library.getParent(), companionStem);
    }

    static List<Path> glob(Path dir, String pattern) {
        if (!Files.isDirectory(dir)) return List.of();
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, pattern)) {
            for (Path p : ds) out.add(p);
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }
}
