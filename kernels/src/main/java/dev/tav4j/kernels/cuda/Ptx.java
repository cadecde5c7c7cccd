package dev.tav4j.kernels.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.zip.GZIPInputStream;

/**
 * The tav4j kernel module as PTX (built by native/build.sh for compute_80; newer GPUs JIT it at load), stored
 * gzip-compressed in the jar.
 */
public final class Ptx {
    public static final String RESOURCE = "/dev/tav4j/kernels/tav4j.ptx.gz";

    private Ptx() {}

    /** The PTX text, NUL-terminated as cuModuleLoadData expects. */
    public static byte[] bytes() {
        try (InputStream raw = Ptx.class.getResourceAsStream(RESOURCE)) {
            if (raw == null) throw new IllegalStateException("PTX resource " + RESOURCE + " missing from the class path");
            byte[] text = new GZIPInputStream(raw).readAllBytes();
            byte[] z = new byte[text.length + 1];
            System.arraycopy(text, 0, z, 0, text.length);
            return z;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + RESOURCE, e);
        }
    }
}
