package dev.tav4j.bindings.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A shared library opened with dlopen for the life of the JVM, with the file it really came from and how it was
 * found. Symbols that are missing become handles that throw {@link CudaException} when called, so an older
 * driver without, say, {@code cuGraphInstantiateWithFlags} still loads and fails only on that call.
 */
public final class NativeLibrary {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MISSING;

    static {
        try {
            MISSING = MethodHandles.lookup().findStatic(NativeLibrary.class, "missingSymbol",
                    MethodType.methodType(int.class, String.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String requested;
    private final String path;
    private final String foundBy;
    private final SymbolLookup lookup;

    private NativeLibrary(String requested, String path, String foundBy, SymbolLookup lookup) {
        this.requested = requested;
        this.path = path;
        this.foundBy = foundBy;
        this.lookup = lookup;
    }

    /**
     * Opens {@code target}: an absolute path, or a bare name that the dynamic loader searches for
     * (LD_LIBRARY_PATH, ld.so.cache). Throws {@link IllegalArgumentException} with dlopen's reason when it fails.
     */
    static NativeLibrary open(String target, String foundBy) {
        SymbolLookup lookup = target.contains("/")
                ? SymbolLookup.libraryLookup(Path.of(target), Arena.global())
                : SymbolLookup.libraryLookup(target, Arena.global());
        String fileName = Path.of(target).getFileName().toString();
        String real = target.contains("/") ? realPath(target) : mappedPath(fileName).orElse(target + " (via the loader)");
        return new NativeLibrary(target, real, foundBy, lookup);
    }

    /** The file the library was loaded from (symbolic links resolved where possible). */
    public String path() { return path; }

    /** What the library was asked for as (a path or a soname). */
    public String requested() { return requested; }

    /** How it was found, e.g. "-Dtav.cublas", "$CUDA_HOME/lib64", "loader path", "python site-packages". */
    public String foundBy() { return foundBy; }

    public boolean has(String symbol) { return lookup.find(symbol).isPresent(); }

    /** A downcall handle for {@code symbol}; a handle that throws when called if the symbol is missing. */
    public MethodHandle function(String symbol, FunctionDescriptor fd, boolean critical) {
        Optional<MemorySegment> address = lookup.find(symbol);
        if (address.isEmpty()) return missingHandle(symbol + " (not in " + path + ")", fd);
        return critical ? LINKER.downcallHandle(address.get(), fd, Linker.Option.critical(false))
                : LINKER.downcallHandle(address.get(), fd);
    }

    /** The first of {@code symbols} that the library has (newer versioned entry points first). */
    public MethodHandle firstOf(FunctionDescriptor fd, boolean critical, String... symbols) {
        for (String s : symbols) if (has(s)) return function(s, fd, critical);
        return missingHandle(String.join(" / ", symbols) + " (not in " + path + ")", fd);
    }

    /** A handle of {@code fd}'s type that throws a "missing" {@link CudaException}; every binding returns an int status. */
    static MethodHandle missingHandle(String what, FunctionDescriptor fd) {
        MethodType type = fd.toMethodType();
        if (type.returnType() != int.class) throw new IllegalArgumentException(what + ": bindings return int statuses");
        return MethodHandles.dropArguments(MethodHandles.insertArguments(MISSING, 0, what), 0, type.parameterList());
    }

    private static int missingSymbol(String what) {
        throw CudaException.missing(what, "symbol missing; the library is older than tav4j needs");
    }

    private static String realPath(String target) {
        try {
            return Path.of(target).toRealPath().toString();
        } catch (IOException e) {
            return target;
        }
    }

    /** Where the loader actually found {@code fileName}: the first mapping in /proc/self/maps whose file starts with it. */
    static Optional<String> mappedPath(String fileName) {
        String stem = fileName.contains(".so") ? fileName.substring(0, fileName.indexOf(".so") + 3) : fileName;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int slash = line.indexOf('/');
                if (slash < 0) continue;
                String p = line.substring(slash).trim();
                String name = p.substring(p.lastIndexOf('/') + 1);
                if (name.equals(stem) || name.startsWith(stem + ".")) return Optional.of(p);
            }
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    @Override public String toString() { return path + " (found by " + foundBy + ")"; }
}
