package dev.tav4j.bindings.cuda;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Makes the downcall handles of one library. When the library was not found every handle is one that throws
 * {@link CudaException} naming the symbol and where the library was looked for: binding classes initialise
 * on any machine and fail only when a function is actually called.
 */
final class Binder {
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;
    static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;
    static final java.lang.foreign.AddressLayout PTR = ValueLayout.ADDRESS;

    private final CudaLibraries.Loaded loaded;

    Binder(CudaLibraries.Loaded loaded) {
        this.loaded = loaded;
    }

    /** {@code int symbol(args...)}. */
    MethodHandle fn(String symbol, MemoryLayout... args) {
        return bind(false, FunctionDescriptor.of(INT, args), symbol);
    }

    /** Same, with {@code Linker.Option.critical(false)}: only for short calls that never block or call back. */
    MethodHandle critical(String symbol, MemoryLayout... args) {
        return bind(true, FunctionDescriptor.of(INT, args), symbol);
    }

    /** The first symbol the library exports (newer versioned names first). */
    MethodHandle firstOf(String[] symbols, MemoryLayout... args) {
        FunctionDescriptor fd = FunctionDescriptor.of(INT, args);
        if (!loaded.ok()) return NativeLibrary.missingHandle(symbols[0] + ": " + loaded.failure(), fd);
        return loaded.library().firstOf(fd, false, symbols);
    }

    private MethodHandle bind(boolean critical, FunctionDescriptor fd, String symbol) {
        if (!loaded.ok()) return NativeLibrary.missingHandle(symbol + ": " + loaded.failure(), fd);
        return loaded.library().function(symbol, fd, critical);
    }

    /** Re-throws what a downcall threw: unchecked as is, anything else wrapped. */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
