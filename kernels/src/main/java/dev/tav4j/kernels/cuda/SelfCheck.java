package dev.tav4j.kernels.cuda;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.KernelCheck;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The GPU self-check ({@code tav doctor}, and the first run on a device): every kernel family of the cuda backend
 * against the CPU backend (the reference) on small shapes, in one precision, in seconds. Every CUDA path was written
 * and checked on the host emulation only, so the first run on a real GPU must prove them there rather than risk a
 * silently wrong answer.
 *
 * <p>Inputs are random, rounded to the storage type on the host, and the CPU gets the rounded values, so the error is
 * the kernels' own. Metric max |cuda − cpu| / max |cpu| over each family's cases (every attention kind, stride 1 and
 * 2). Tolerances as the emulated tests': fp32 1e-4 (those allow 1e-5 to 3e-5), bf16/fp16 6u forward and 8u backward
 * (u = 2^-8, 2^-11). A broken kernel is off by O(1), far above either.
 *
 * <p>A tensor-core family that fails is switched to its CUDA-core fallback ({@link #apply}, one warning line); any
 * other failing family stops the run: it has no fallback. Results are cached per device (name, driver), PTX and
 * precision in a folder the caller gives ({@link #cached}).
 */
public final class SelfCheck {
    /** What is checked; a tensor-core family names the switch of its fallback. */
    public enum Family {
        MATMUL(null), CONV2D(null), CONV2D_TC(TensorCoreFamily.CONV2D), CONV2D_INPUT_GRAD(null),
        CONV2D_INPUT_GRAD_TC(TensorCoreFamily.CONV2D_INPUT_GRAD), GROUPNORM(null), LAYERNORM(null), ATTENTION(null),
        ATTENTION_TC(TensorCoreFamily.ATTENTION), ATTENTION_GRAD(null), ATTENTION_GRAD_TC(TensorCoreFamily.ATTENTION_GRAD),
        ELEMENTWISE(null);

        /** Non-null for a tensor-core family: the switch that sends it to its CUDA-core fallback. */
        public final TensorCoreFamily tensorCores;

        Family(TensorCoreFamily tc) { this.tensorCores = tc; }
    }

    /** One family in one precision: the kernels that ran, the worst error, the tolerance; error: why it could not run. */
    public record Result(Family family, DType precision, String kernels, double maxRelError, double tolerance, String error) {
        /** NaN or an error fails. */
        public boolean passed() { return error == null && maxRelError <= tolerance; }

        /** One line: family, precision, error vs tolerance, kernels (or why it failed to run). */
        public String line() {
            return String.format(Locale.ROOT, "%-20s %-4s %-4s %9.2e %9.2e  %s", family, name(precision), passed() ? "ok" : "FAIL",
                    maxRelError, tolerance, error != null ? error : kernels);
        }
    }

    /** The check of one device in one precision; cached: read from the cache rather than run now. */
    public record Report(String device, String key, DType precision, List<Result> results, boolean cached, double seconds)
            implements KernelCheck.Report {
        public List<Result> failed() { return results.stream().filter(r -> !r.passed()).toList(); }

        @Override public boolean passed() { return failed().isEmpty(); }

        @Override public List<String> lines() { return results.stream().map(Result::line).toList(); }

        @Override public int failures() { return failed().size(); }
    }

    private static final Ops CPU = new CpuOps();

    private final CudaOps cuda;
    private final DType precision;
    private final Random random = new Random(12);
    private final List<Result> results = new ArrayList<>();

    private SelfCheck(CudaOps cuda, DType precision) {
        this.cuda = cuda;
        this.precision = precision;
    }

    /** Runs every family on {@code ops}' device in {@code precision} now (a backend of its own: {@code ops} is left as it is). */
    public static Report run(CudaOps ops, DType precision) {
        long t0 = System.nanoTime();
        List<Result> results;
        try (CudaOps c = new CudaOps(ops.device(), ops.name(), precision)) {  // the default switches: every family is checked
            SelfCheck s = new SelfCheck(c, precision);
            s.all();
            results = List.copyOf(s.results);
        }
        return new Report(ops.device().describe(), key(ops), precision, results, false, (System.nanoTime() - t0) / 1e9);
    }

    /**
     * The report cached in {@code cacheDir} for this device, driver, PTX and precision, else {@link #run} now and cache it
     * (a folder that cannot be written only means no cache).
     */
    public static Report cached(CudaOps ops, DType precision, Path cacheDir) {
        Path file = cacheFile(ops, precision, cacheDir);
        Report r = read(file);
        if (r != null) return r;
        r = run(ops, precision);
        try {
            Files.createDirectories(cacheDir);
            Path tmp = Files.createTempFile(cacheDir, "selfcheck", ".tmp");
            Files.writeString(tmp, json(r));
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | UnsupportedOperationException e) {
            // no cache: the check runs again next time, which is slower but still right
        }
        return r;
    }

    /** Where {@link #cached} keeps the report: {@code selfcheck-<hash of device, driver, PTX>-<precision>.json}. */
    public static Path cacheFile(CudaOps ops, DType precision, Path cacheDir) {
        return cacheDir.resolve("selfcheck-" + key(ops) + "-" + name(precision) + ".json");
    }

    /**
     * Switches each failed tensor-core family of {@code r} to its CUDA-core fallback on {@code ops}, returning one warning
     * line per family; throws (one line) when a family without a fallback failed.
     */
    public static List<String> apply(CudaOps ops, Report r) {
        List<String> warnings = new ArrayList<>();
        List<String> fatal = new ArrayList<>();
        for (Result f : r.failed()) {
            String what = f.family() + " (" + name(f.precision()) + ", " + (f.error() != null ? f.error()
                    : String.format(Locale.ROOT, "max rel err %.2e > %.2e, %s", f.maxRelError(), f.tolerance(), f.kernels())) + ")";
            if (f.family().tensorCores != null) {
                ops.disableTensorCores(f.family().tensorCores);
                warnings.add("tav: warning: GPU self-check: " + what + " failed on " + r.device() + "; using its CUDA-core kernels instead");
            } else {
                fatal.add(what);
            }
        }
        if (!fatal.isEmpty())
            throw new IllegalStateException("GPU self-check failed on " + r.device() + " with no fallback: " + String.join("; ", fatal)
                    + " (run 'tav doctor' for the table; use --device cpu meanwhile)");
        return warnings;
    }

    /** Hash of the device's description (name, compute capability, driver) and the PTX the kernels come from. */
    static String key(CudaOps ops) {
        MessageDigest md = sha256();
        md.update(ops.device().describe().getBytes(StandardCharsets.UTF_8));
        md.update((byte) 0);
        md.update(PtxHash.DIGEST);
        return HexFormat.of().formatHex(md.digest(), 0, 8);
    }

    /** The bundled PTX's hash, once: unzipping 14 MB of PTX costs ~0.1 s. */
    private static final class PtxHash {
        static final byte[] DIGEST = sha256().digest(Ptx.bytes());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String name(DType p) {
        return switch (p) {
            case F32 -> "fp32";
            case BF16 -> "bf16";
            case F16 -> "fp16";
        };
    }

    // ---------------------------------------------------------------- the families

    private void all() {
        boolean half = precision != DType.F32;
        double fwd = half ? 6 * u() : 1e-4, bwd = half ? 8 * u() : 1e-4;
        check(Family.MATMUL, fwd, () -> {
            return max(compare(new int[][] {{6, 24}, {24, 16}, {16}}, new int[][] {{6, 16}},
                    (o, t) -> o.matmul(t[0], t[1], t[2], t[3])));
        });
        for (boolean tc : half ? new boolean[] {false, true} : new boolean[] {false}) {
            setTensorCores(TensorCoreFamily.CONV2D, tc);
            check(tc ? Family.CONV2D_TC : Family.CONV2D, fwd, () -> max(
                    compare(new int[][] {{1, 6, 5, 16}, {3, 3, 16, 24}, {24}}, new int[][] {{1, 6, 5, 24}},
                            (o, t) -> o.conv2d(t[0], t[1], t[2], 1, 1, false, t[3])),
                    compare(new int[][] {{2, 6, 5, 16}, {3, 3, 16, 8}, {8}}, new int[][] {{2, 3, 3, 8}},
                            (o, t) -> o.conv2d(t[0], t[1], t[2], 2, 1, false, t[3]))));
            setTensorCores(TensorCoreFamily.CONV2D_INPUT_GRAD, tc);
            check(tc ? Family.CONV2D_INPUT_GRAD_TC : Family.CONV2D_INPUT_GRAD, bwd, () -> max(
                    compare(new int[][] {{1, 6, 5, 24}, {3, 3, 16, 24}}, new int[][] {{1, 6, 5, 16}},
                            (o, t) -> o.grad().conv2dBackwardInput(t[0], t[1], 1, 1, false, t[2])),
                    compare(new int[][] {{2, 3, 3, 8}, {3, 3, 16, 8}}, new int[][] {{2, 6, 5, 16}},
                            (o, t) -> o.grad().conv2dBackwardInput(t[0], t[1], 2, 1, false, t[2]))));
        }
        check(Family.GROUPNORM, bwd, () -> max(
                compare(new int[][] {{4, 5, 3, 16}, {16}, {16}}, new int[][] {{4, 5, 3, 16}},
                        (o, t) -> o.groupNorm(t[0], 4, 2, t[1], t[2], 1e-5f, true, t[3])),
                compare(new int[][] {{4, 5, 3, 16}, {16}, {16}, {4, 5, 3, 16}}, new int[][] {{4, 5, 3, 16}},
                        (o, t) -> o.grad().groupNormBackward(t[0], 4, 2, t[1], t[2], 1e-5f, true, t[3], t[4]))));
        check(Family.LAYERNORM, bwd, () -> max(
                compare(new int[][] {{5, 40}, {40}, {40}}, new int[][] {{5, 40}}, (o, t) -> o.layerNorm(t[0], t[1], t[2], 1e-5f, t[3])),
                compare(new int[][] {{5, 40}, {40}, {5, 40}}, new int[][] {{5, 40}}, (o, t) -> o.grad().layerNormBackward(t[0], t[1], 1e-5f, t[2], t[3]))));
        for (boolean tc : half ? new boolean[] {false, true} : new boolean[] {false}) {
            setTensorCores(TensorCoreFamily.ATTENTION, tc);
            setTensorCores(TensorCoreFamily.ATTENTION_GRAD, tc);
            List<AttentionKind> kinds = new ArrayList<>(List.of(AttentionKind.SELF, AttentionKind.CAUSAL, AttentionKind.SPARSE_CAUSAL, AttentionKind.CROSS));
            if (!tc) kinds.add(AttentionKind.TEMPORAL);  // no tensor-core kernel: it always runs its own
            check(tc ? Family.ATTENTION_TC : Family.ATTENTION, fwd, () -> {
                double e = 0;
                for (AttentionKind k : kinds) e = Math.max(e, attention(k, false));
                return e;
            });
            check(tc ? Family.ATTENTION_GRAD_TC : Family.ATTENTION_GRAD, bwd, () -> {
                double e = 0;
                for (AttentionKind k : kinds) e = Math.max(e, attention(k, true));
                return e;
            });
        }
        check(Family.ELEMENTWISE, half ? 3 * u() : 1e-5, () -> max(
                compare(new int[][] {{300}, {300}}, new int[][] {{300}}, (o, t) -> o.axpby(0.75f, t[0], -1.25f, t[1], t[2])),
                compare(new int[][] {{4, 32}}, new int[][] {{4, 16}}, (o, t) -> o.geglu(t[0], t[1])),
                compare(new int[][] {{300}}, new int[][] {{300}}, (o, t) -> o.activation(Activation.SILU, t[0], t[1])),
                compare(new int[][] {{300}}, new int[][] {{300}}, (o, t) -> o.activation(Activation.GELU, t[0], t[1]))));
    }

    /** One attention case: 2 frames of 20 tokens, 2 heads of 16 (CROSS: 9 keys per batch item); forward, or dQ, dK, dV. */
    private double attention(AttentionKind kind, boolean backward) {
        int frames = 2, l = 20, heads = 2, d = 16, ch = heads * d;
        boolean cross = kind == AttentionKind.CROSS;
        int n = frames, nk = cross ? 1 : n, lk = cross ? 9 : l;
        float scale = (float) (1 / Math.sqrt(d));
        int[] q = {n, l, ch}, kv = {nk, lk, ch};
        if (!backward)
            return compare(new int[][] {q, kv, kv}, new int[][] {q}, (o, t) -> o.attention(kind, frames, heads, scale, t[0], t[1], t[2], t[3]));
        return compare(new int[][] {q, kv, kv, q}, new int[][] {q, kv, kv},
                (o, t) -> o.grad().attentionBackward(kind, frames, heads, scale, t[0], t[1], t[2], t[3], t[4], t[5], t[6]));
    }

    private interface Case {
        double run();
    }

    private final TreeSet<String> ran = new TreeSet<>();

    private void check(Family f, double tol, Case c) {
        ran.clear();
        double e;
        String error = null;
        try {
            e = c.run();
            if (f.tensorCores != null && ran.stream().noneMatch(k -> k.contains("_tc_")))
                error = "no tensor-core kernel ran (" + String.join(" ", ran) + ")";
        } catch (RuntimeException ex) {
            e = Double.NaN;
            error = ex.getClass().getSimpleName() + ": " + String.valueOf(ex.getMessage()).lines().findFirst().orElse("");
        }
        results.add(new Result(f, precision, String.join(" ", ran), e, tol, error));
    }

    private void setTensorCores(TensorCoreFamily f, boolean on) {
        if (on) {
            cuda.useTensorCores(true);  // checked whatever the A/B switches say: a later run may turn them on
            cuda.enableTensorCores(f);
        } else {
            cuda.disableTensorCores(f);
        }
    }

    private double u() {
        return precision == DType.BF16 ? 0x1p-8 : 0x1p-11;
    }

    private static double max(double... e) {
        double m = 0;
        for (double x : e) m = Double.isNaN(x) || Double.isNaN(m) ? Double.NaN : Math.max(m, x);
        return m;
    }

    /**
     * Runs {@code op} on the CPU and on the device over the same random inputs (rounded to the storage type) and
     * zeroed outputs; returns the worst output's max |cuda − cpu| / max |cpu| (NaN when the device gave a NaN).
     */
    private double compare(int[][] inShapes, int[][] outShapes, BiConsumer<Ops, Tensor[]> op) {
        int k = inShapes.length, m = outShapes.length;
        float[][] values = new float[k + m][];
        int[][] shapes = new int[k + m][];
        for (int i = 0; i < k + m; i++) {
            shapes[i] = i < k ? inShapes[i] : outShapes[i - k];
            int size = 1;
            for (int s : shapes[i]) size *= s;
            values[i] = new float[size];
            if (i < k) for (int j = 0; j < size; j++) values[i][j] = round((float) random.nextGaussian());
        }
        float[][][] got = new float[2][m][];
        Ops[] backends = {CPU, cuda};
        for (int b = 0; b < 2; b++) {
            Ops ops = backends[b];
            Tensor[] ts = new Tensor[k + m];
            try {
                for (int i = 0; i < k + m; i++)
                    try (Tensor h = Tensor.of(values[i], shapes[i])) {
                        ts[i] = ops.upload(h);
                    }
                KernelProfiler p = b == 1 ? cuda.profile(true) : null;
                op.accept(ops, ts);
                if (p != null) {
                    for (KernelProfiler.Entry e : p.entries()) ran.add(e.name());
                    cuda.profile(false);
                }
                for (int o = 0; o < m; o++)
                    try (Tensor h = ops.download(ts[k + o])) {
                        got[b][o] = h.toArray();
                    }
            } finally {
                if (b == 1) cuda.profile(false);
                for (Tensor t : ts) if (t != null) t.close();
            }
        }
        double worst = 0;
        for (int o = 0; o < m; o++) {
            double err = 0, scale = 0;
            for (int i = 0; i < got[0][o].length; i++) {
                float g = got[1][o][i], r = got[0][o][i];
                if (!Float.isFinite(g)) return Double.NaN;
                err = Math.max(err, Math.abs(g - r));
                scale = Math.max(scale, Math.abs(r));
            }
            worst = Math.max(worst, err / Math.max(scale, 1e-30));
        }
        return worst;
    }

    private float round(float v) {
        return switch (precision) {
            case F32 -> v;
            case BF16 -> Bf16.toFloat(Bf16.fromFloat(v));
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(v));
        };
    }

    // ---------------------------------------------------------------- the cache: one small JSON file per device, PTX, precision

    static String json(Report r) {
        StringBuilder s = new StringBuilder("{\n  \"device\": \"").append(esc(r.device())).append("\",\n  \"key\": \"").append(r.key())
                .append("\",\n  \"precision\": \"").append(r.precision()).append("\",\n  \"seconds\": ")
                .append(String.format(Locale.ROOT, "%.3f", r.seconds())).append(",\n  \"results\": [\n");
        for (int i = 0; i < r.results().size(); i++) {
            Result x = r.results().get(i);
            s.append(String.format(Locale.ROOT, "    {\"family\": \"%s\", \"precision\": \"%s\", \"kernels\": \"%s\", \"maxRelError\": %s, "
                            + "\"tolerance\": %s, \"passed\": %s, \"error\": %s}%s%n", x.family(), x.precision(), esc(x.kernels()),
                    Double.isNaN(x.maxRelError()) ? "\"NaN\"" : Double.toString(x.maxRelError()), x.tolerance(), x.passed(),
                    x.error() == null ? "null" : "\"" + esc(x.error()) + "\"", i + 1 < r.results().size() ? "," : ""));
        }
        return s.append("  ]\n}\n").toString();
    }

    private static String esc(String s) {
        return s.replace("\\", "/").replace('"', '\'').replace('\n', ' ');
    }

    private static final Pattern DEVICE = Pattern.compile("\"device\": \"([^\"]*)\"");
    private static final Pattern KEY = Pattern.compile("\"key\": \"([0-9a-f]+)\"");
    private static final Pattern PRECISION = Pattern.compile("\"precision\": \"(\\w+)\",\\s*\"seconds\"");
    private static final Pattern RESULT = Pattern.compile("\\{\"family\": \"(\\w+)\", \"precision\": \"(\\w+)\", \"kernels\": \"([^\"]*)\", "
            + "\"maxRelError\": (\"NaN\"|[-+0-9.eE]+), \"tolerance\": ([-+0-9.eE]+), \"passed\": (true|false), \"error\": (null|\"[^\"]*\")}");

    /** A cached report, or null when there is none or it cannot be read (then the check runs again). */
    static Report read(Path file) {
        try {
            if (!Files.isRegularFile(file)) return null;
            String s = Files.readString(file);
            Matcher d = DEVICE.matcher(s), k = KEY.matcher(s), p = PRECISION.matcher(s);
            if (!d.find() || !k.find() || !p.find()) return null;
            List<Result> results = new ArrayList<>();
            Matcher m = RESULT.matcher(s);
            while (m.find()) {
                String err = m.group(7).equals("null") ? null : m.group(7).substring(1, m.group(7).length() - 1);
                double e = m.group(4).equals("\"NaN\"") ? Double.NaN : Double.parseDouble(m.group(4));
                results.add(new Result(Family.valueOf(m.group(1)), DType.valueOf(m.group(2)), m.group(3), e, Double.parseDouble(m.group(5)), err));
            }
            if (results.isEmpty()) return null;
            return new Report(d.group(1), k.group(1), DType.valueOf(p.group(1)), List.copyOf(results), true, 0);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
