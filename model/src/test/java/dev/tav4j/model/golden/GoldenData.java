package dev.tav4j.model.golden;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Where the golden reference data lives and what cases it holds. The golden roots, in this order:
 * <ol>
 *   <li>the repository's trimmed copy, {@code golden/} (system property {@code tav.golden.repo}, set by the parent
 *       pom; else the first {@code golden/} with a {@code rebuild.json} above the working directory);</li>
 *   <li>{@code ../shared/golden} beside the checkout when it is there (system property {@code tav.golden.default});</li>
 *   <li>every folder of {@code $TAV_GOLDEN} (a list, separated by {@link File#pathSeparator}).</li>
 * </ol>
 * A folder named twice counts once. A case found in several roots with the same bytes (its folder and the model
 * files it reads) runs once, from the first root; a same-named case with other bytes runs too, its name followed by
 * its root. With no root at all the calling test is skipped (visible, with the paths); with
 * {@code TAV_GOLDEN_REQUIRED=1} it fails instead, and so does a missing {@code $TAV_GOLDEN} folder or repository copy.
 */
public final class GoldenData {
    private GoldenData() {}

    /** The places golden data may be; {@code extra} is {@code $TAV_GOLDEN}'s list. Nulls where a place is unknown. */
    public record Sources(Path repo, Path shared, List<Path> extra, boolean required) {
        public Sources {
            extra = List.copyOf(extra);
        }

        /** From the system properties the pom sets and the environment. */
        public static Sources fromEnvironment() {
            String repo = System.getProperty("tav.golden.repo"), shared = System.getProperty("tav.golden.default");
            List<Path> extra = new ArrayList<>();
            String env = System.getenv("TAV_GOLDEN");
            if (env != null)
                for (String s : env.split(File.pathSeparator)) if (!s.isBlank()) extra.add(Path.of(s.strip()));
            return new Sources(repo != null && !repo.isBlank() ? Path.of(repo) : findRepoCopy(),
                    shared != null && !shared.isBlank() ? Path.of(shared) : null, extra,
                    "1".equals(System.getenv("TAV_GOLDEN_REQUIRED")));
        }

        /**
         * The roots that exist, in order, each once. Skips the calling test when there is none; fails (when
         * required) for a missing repository copy or {@code $TAV_GOLDEN} folder, else names them on stderr.
         */
        public List<Path> roots() {
            Map<Path, Path> found = new LinkedHashMap<>();  // real path -> as named
            List<String> missing = new ArrayList<>();
            add(found, missing, repo, "the repository's golden/", true);
            add(found, missing, shared, "../shared/golden", false);
            for (Path p : extra) add(found, missing, p, "TAV_GOLDEN entry", true);
            if (!missing.isEmpty()) {
                if (required) Assertions.fail("golden data missing and TAV_GOLDEN_REQUIRED=1: " + String.join("; ", missing));
                System.err.println("golden: not found, left out: " + String.join("; ", missing));
            }
            if (found.isEmpty())
                Assumptions.abort("no golden data found (" + String.join("; ", missing) + "); set TAV_GOLDEN to run the parity suite");
            return List.copyOf(found.values());
        }

        private static void add(Map<Path, Path> found, List<String> missing, Path p, String what, boolean mustExist) {
            if (p == null) return;
            Path abs = p.toAbsolutePath().normalize();
            if (!Files.isDirectory(abs)) {
                if (mustExist) missing.add(what + " " + abs);
                return;
            }
            try {
                found.putIfAbsent(abs.toRealPath(), abs);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static Path findRepoCopy() {
            for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent())
                if (Files.isRegularFile(d.resolve("golden/rebuild.json"))) return d.resolve("golden");
            return null;
        }
    }

    private static volatile List<Path> roots;

    /** This run's golden roots (see the class comment); files of the repository's copy are rebuilt first. */
    public static List<Path> roots() {
        List<Path> r = roots;
        if (r == null) {
            synchronized (GoldenData.class) {
                if (roots == null) {
                    List<Path> found = Sources.fromEnvironment().roots();
                    for (Path root : found) GoldenRebuild.ensure(root);
                    roots = found;
                }
                r = roots;
            }
        }
        return r;
    }

    /** The first golden root (the repository's copy when there is one). */
    public static Path root() { return roots().getFirst(); }

    /** {@code models/} of the first root that has one. */
    public static Path models() {
        return roots().stream().map(r -> r.resolve("models")).filter(Files::isDirectory).findFirst()
                .orElseGet(() -> root().resolve("models"));
    }

    /** {@code models/NAME} from the first root that has it; skips (or, when required, fails) where none does. */
    public static Path model(String name) {
        return firstOf("models/" + name, "golden model " + name);
    }

    /**
     * One of the official clips: {@code videos/NAME} in a root, or in the folder beside it (shared/videos beside
     * shared/golden), first found; skips (or, when required, fails) where none has it.
     */
    public static Path video(String name) {
        return firstOf(videoDirs(), name, "test video " + name);
    }

    /** Every clip (.mp4) of the video folders, by name, the first found of each name. */
    public static Map<String, Path> videos() {
        Map<String, Path> out = new java.util.TreeMap<>();
        for (Path dir : videoDirs()) {
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> p.getFileName().toString().endsWith(".mp4")).forEach(p -> out.putIfAbsent(p.getFileName().toString(), p));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    private static List<Path> videoDirs() {
        List<Path> dirs = new ArrayList<>();
        for (Path r : roots()) {
            for (Path d : List.of(r.resolve("videos"), r.resolveSibling("videos")))
                if (Files.isDirectory(d) && !dirs.contains(d.normalize())) dirs.add(d.normalize());
        }
        return dirs;
    }

    private static Path firstOf(String relative, String what) {
        return firstOf(roots(), relative, what);
    }

    private static Path firstOf(List<Path> dirs, String relative, String what) {
        for (Path d : dirs) if (Files.exists(d.resolve(relative))) return d.resolve(relative);
        String msg = what + " is in none of " + dirs + " (the repository's trimmed copy leaves it out: see golden/README.md)";
        if ("1".equals(System.getenv("TAV_GOLDEN_REQUIRED"))) Assertions.fail(msg + " and TAV_GOLDEN_REQUIRED=1");
        Assumptions.abort(msg + "; set TAV_GOLDEN to a folder that has it");
        throw new AssertionError("unreachable");
    }

    /** Every case of every root ({@code cases/NAME/case.json}), by root then name; same cases once (class comment). */
    public static List<GoldenCase> cases() {
        return cases(roots());
    }

    /** {@link #cases()} over the given roots. */
    static List<GoldenCase> cases(List<Path> roots) {
        Map<String, List<String>> seen = new LinkedHashMap<>();  // name -> fingerprints run
        List<GoldenCase> out = new ArrayList<>();
        for (Path root : roots) {
            Path cases = root.resolve("cases");
            if (!Files.isDirectory(cases)) continue;
            List<Path> dirs;
            try (Stream<Path> s = Files.list(cases)) {
                dirs = s.filter(d -> Files.isRegularFile(d.resolve("case.json"))).sorted().toList();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list golden cases in " + cases, e);
            }
            for (Path d : dirs) {
                String name = d.getFileName().toString();
                List<String> prints = seen.computeIfAbsent(name, k -> new ArrayList<>());
                GoldenCase c = GoldenCase.load(d);
                if (!prints.isEmpty()) {
                    String print = fingerprint(c);
                    if (prints.contains(print)) continue;  // the same bytes: already run
                    prints.add(print);
                    out.add(GoldenCase.load(d, name + " [" + root + "]"));
                    continue;
                }
                // the fingerprint is only needed once a second root has the name
                prints.add(roots.size() > 1 ? fingerprint(c) : "");
                out.add(c);
            }
        }
        return out;
    }

    /** The cases whose op is {@code op} (e.g. "vae", "unet3d"); skips the calling test when there are none. */
    public static List<GoldenCase> cases(String op) {
        List<GoldenCase> all = cases().stream().filter(c -> c.op().equals(op)).toList();
        Assumptions.assumeFalse(all.isEmpty(), "no golden case with op '" + op + "' under " + roots());
        return all;
    }

    /** The case named {@code name} from the first root that has it; fails when no root has it. */
    public static GoldenCase named(String name) {
        for (Path r : roots()) {
            Path dir = r.resolve("cases").resolve(name);
            if (Files.isRegularFile(dir.resolve("case.json"))) return GoldenCase.load(dir);
        }
        return Assertions.fail("golden case not found: cases/" + name + "/case.json under " + roots());
    }

    private static final Map<Path, String> TREE_HASHES = new ConcurrentHashMap<>();

    /** SHA-256 over the case folder's files and the files of every model path its case.json names outside it. */
    static String fingerprint(GoldenCase c) {
        StringBuilder sb = new StringBuilder(treeHash(c.dir()));
        c.json().properties().forEach(e -> {
            if (!e.getValue().isTextual()) return;
            Path p = c.resolve(e.getValue().asText());
            if (Files.exists(p) && !p.startsWith(c.dir())) sb.append(' ').append(e.getKey()).append('=').append(treeHash(p));
        });
        return sb.toString();
    }

    private static String treeHash(Path p) {
        return TREE_HASHES.computeIfAbsent(p.toAbsolutePath().normalize(), q -> {
            try (Stream<Path> s = Files.walk(q)) {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                for (Path f : s.filter(Files::isRegularFile).sorted().toList()) {
                    md.update(q.relativize(f).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    md.update(Objects.requireNonNull(GoldenRebuild.sha256(f)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                }
                return HexFormat.of().formatHex(md.digest());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        });
    }
}
