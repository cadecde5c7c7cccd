package dev.tav4j.kernels.cpu;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Whether the Vector API can be used here, found once without touching it: jdk.incubator.vector must be in the boot
 * layer and readable from this module. On the module path the kernels' descriptor brings it in; on the class path
 * the JVM resolves it only with {@code --add-modules jdk.incubator.vector}. Without it every class that mentions
 * FloatVector fails to load, so the cpu backend then runs the scalar twins and warns once per process.
 */
final class VectorApi {
    static final String MODULE = "jdk.incubator.vector";
    /**
     * The factor: {@code bench unet --model anchor --frames 8 --latent 32 --steps 2}, 39 and 47 s per guided step
     * without the module against 5.7, 6.4 and 7.9 s with it (AMD EPYC Zen 5, 2 cores shared with other work, JDK
     * 25.0.3, 2026-12-03): 5–8x, about 7x at the medians.
     */
    static final String WARNING = "jdk.incubator.vector is not in this JVM: the cpu backend's kernels run as scalar"
            + " loops, about 7x slower (measured on a UNet step); add --add-modules jdk.incubator.vector to the java"
            + " command (or run tav4j on the module path) for the Vector API kernels";
    static final boolean PRESENT = ModuleLayer.boot().findModule(MODULE)
            .map(m -> VectorApi.class.getModule().canRead(m)).orElse(false);
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private VectorApi() {}

    /** Whether a cpu backend asking for vectors ({@code wanted}) gets them; warns once per process when it cannot. */
    static boolean use(boolean wanted) {
        if (wanted && !PRESENT && WARNED.compareAndSet(false, true))
            System.getLogger(VectorApi.class.getName()).log(System.Logger.Level.WARNING, WARNING);
        return wanted && PRESENT;
    }
}
