package dev.tav4j.runtime.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a PTX module needs from the machine, read from its header: {@code .version} (PTX ISA; the driver must be
 * at least the CUDA release that introduced it to JIT it) and {@code .target sm_XY} (the lowest compute
 * capability it runs on; an "a"/"f" suffix means that architecture family only).
 */
public record PtxRequirements(int isaMajor, int isaMinor, int smMajor, int smMinor, boolean archSpecific) {
    /** Without a PTX module to read: the product's kernels need Ampere (sm_80) and CUDA 12. */
    public static final PtxRequirements DEFAULT = new PtxRequirements(8, 0, 8, 0, false);

    private static final Pattern VERSION = Pattern.compile("^\\s*\\.version\\s+(\\d+)\\.(\\d+)", Pattern.MULTILINE);
    private static final Pattern TARGET = Pattern.compile("^\\s*\\.target\\s+sm_(\\d+)([af]?)", Pattern.MULTILINE);

    /**
     * How much of a module {@link #parseHead} reads: PTX starts with {@code .version} and {@code .target} (after a few
     * comment lines), so a probe need not decompress and scan the whole module (16 MB, 0.2 s of {@code tav info}).
     */
    public static final int HEAD_BYTES = 64 << 10;

    /** {@link #parse} of the first {@link #HEAD_BYTES} of {@code ptx} (whole lines only); the stream is not read further. */
    public static PtxRequirements parseHead(InputStream ptx) throws IOException {
        byte[] head = ptx.readNBytes(HEAD_BYTES);
        int end = head.length;
        if (end == HEAD_BYTES) while (end > 0 && head[end - 1] != '\n') end--;  // a cut line is not read
        return parse(new String(head, 0, end, StandardCharsets.US_ASCII));
    }

    /** Reads the header; anything missing falls back to {@link #DEFAULT}'s value. */
    public static PtxRequirements parse(String ptx) {
        Matcher v = VERSION.matcher(ptx), t = TARGET.matcher(ptx);
        int isaMaj = DEFAULT.isaMajor, isaMin = DEFAULT.isaMinor, smMaj = DEFAULT.smMajor, smMin = DEFAULT.smMinor;
        boolean specific = false;
        if (v.find()) { isaMaj = Integer.parseInt(v.group(1)); isaMin = Integer.parseInt(v.group(2)); }
        if (t.find()) {
            int sm = Integer.parseInt(t.group(1));
            smMaj = sm / 10;
            smMin = sm % 10;
            specific = !t.group(2).isEmpty();
        }
        return new PtxRequirements(isaMaj, isaMin, smMaj, smMin, specific);
    }

    /** The lowest driver version (cuDriverGetVersion form, e.g. 12080) that can JIT this PTX ISA. */
    public int requiredDriverVersion() {
        int major, minor;
        if (isaMajor <= 7) { major = 11; minor = isaMajor == 7 ? isaMinor : 0; }
        else if (isaMajor == 8) {
            major = 12;
            minor = isaMinor <= 5 ? isaMinor : isaMinor + 1; // ISA 8.6 came with CUDA 12.7, 8.7 with 12.8, 8.8 with 12.9
        } else { major = 13 + (isaMajor - 9); minor = isaMinor; }
        return major * 1000 + minor * 10;
    }

    /** Whether a device of compute capability major.minor can run this module. */
    public boolean runsOn(int ccMajor, int ccMinor) {
        if (archSpecific) return ccMajor == smMajor && ccMinor == smMinor;
        return ccMajor > smMajor || (ccMajor == smMajor && ccMinor >= smMinor);
    }

    public String describe() {
        return "PTX ISA " + isaMajor + "." + isaMinor + " (needs driver >= " + CudaProbe.version(requiredDriverVersion())
                + "), target sm_" + smMajor + smMinor + (archSpecific ? " (that architecture only)" : " or newer");
    }
}
