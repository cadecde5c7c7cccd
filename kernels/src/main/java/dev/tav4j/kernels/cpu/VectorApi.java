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
    /** Measured: see {@link #WARNING}. */
    static final String WARNING = "jdk.incubator.vector is not in this JVM: the cpu backend's kernels run as scalar"
            + " loops, about 4x slower (measured on one UNet forward); add --add-modules jdk.incubator.vector to the"
            + " java command (or run tav4j on the module path) for the Vector API kernels";
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
