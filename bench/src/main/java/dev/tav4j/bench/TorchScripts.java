package dev.tav4j.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Finds the PyTorch bench scripts ({@code bench/pytorch/*.py}): in the source tree when tav runs from a checkout
 * (so an edited script is used without a rebuild), else the copies packed into the bench jar, unpacked to a
 * temporary folder.
 */
public final class TorchScripts {
    public static final String BENCH = "tav_torch_bench.py";
    public static final String PREDICT = "predict.py";
    static final List<String> FILES = List.of("st_io.py", "tav_unet3d.py", BENCH, PREDICT, "check_golden.py");
    private static final String RESOURCES = "/dev/tav4j/bench/pytorch/";
    private static Path unpacked;

    private TorchScripts() {}

    /** The script {@code name}: under bench/pytorch of the working directory or of the checkout tav runs from, else unpacked. */
    public static Path locate(String name) {
        for (Path dir : candidates()) {
            if (dir != null && Files.isRegularFile(dir.resolve(name)) && Files.isRegularFile(dir.resolve("tav_unet3d.py")))
                return dir.resolve(name).toAbsolutePath().normalize();
        }
        return unpack().resolve(name);
    }

    private static List<Path> candidates() {
        Path cwd = Path.of("").toAbsolutePath();
        Path code = codeLocation();
        // cli/target/tav.jar or bench/target/classes → the checkout root two levels up
        Path root = code == null || code.getParent() == null || code.getParent().getParent() == null ? null : code.getParent().getParent().getParent();
        return java.util.Arrays.asList(cwd.resolve("bench/pytorch"), cwd.resolve("pytorch"), root == null ? null : root.resolve("bench/pytorch"));
    }

    private static Path codeLocation() {
        try {
            var src = TorchScripts.class.getProtectionDomain().getCodeSource();
            return src == null ? null : Path.of(src.getLocation().toURI()).toAbsolutePath();
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }

    private static synchronized Path unpack() {
        if (unpacked != null) return unpacked;
        try {
            Path dir = Files.createTempDirectory("tav-pytorch-bench");
            for (String f : FILES) {
                try (InputStream in = TorchScripts.class.getResourceAsStream(RESOURCES + f)) {
                    if (in == null) throw new IllegalStateException("the PyTorch bench script " + f + " is not packed in the bench jar ("
                            + RESOURCES + f + "); run from a checkout or rebuild");
                    Files.copy(in, dir.resolve(f));
                }
                dir.resolve(f).toFile().deleteOnExit();
            }
            dir.toFile().deleteOnExit();
            unpacked = dir;
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot unpack the PyTorch bench scripts: " + e.getMessage(), e);
        }
    }
}
