package dev.tav4j.bindings.cuda;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Loads the CUDA driver and cuBLAS once per JVM, trying {@link LibraryLocator}'s candidates in order. A library
 * that cannot be found is a {@link Loaded} with a reason listing every place tried, never an exception at class
 * initialisation, so a machine without CUDA can load every tav4j class.
 */
public final class CudaLibraries {
    private CudaLibraries() {}

    /** The outcome of a search: the library, or why not; {@code tried} lists each candidate and what happened. */
    public record Loaded(String what, NativeLibrary library, List<String> tried) {
        public boolean ok() { return library != null; }

        public NativeLibrary require() {
            if (library == null) throw CudaException.missing(what, failure());
            return library;
        }

        public String failure() {
            return library != null ? "" : what + " not found; tried " + String.join("; ", tried);
        }

        public String describe() {
            return library != null ? library.toString() : failure();
        }
    }

    private static LibraryLocator.Env env = LibraryLocator.Env.fixed();
    private static Loaded driver, cublas;

    /**
     * Where the libraries not loaded yet are searched for: the entry point's system properties and environment
     * ({@link LibraryLocator.Env#of}); until this is called, the loader path and the fixed places only. A library is
     * loaded once per JVM: a search that found it stays, one that did not is tried again with the new places.
     */
    public static synchronized void searchIn(LibraryLocator.Env places) {
        env = places;
        if (driver != null && !driver.ok()) driver = null;
        if (cublas != null && !cublas.ok()) cublas = null;
    }

    /** The CUDA driver, searched for on first use. */
    public static synchronized Loaded driver() {
        if (driver == null) driver = load("the CUDA driver (libcuda.so.1)", LibraryLocator.driverCandidates(env), null);
        return driver;
    }

    /** cuBLAS (with libcublasLt loaded first from the same place), searched for on first use. */
    public static synchronized Loaded cublas() {
        if (cublas == null) cublas = load("cuBLAS (libcublas.so)", LibraryLocator.cublasCandidates(env), "libcublasLt");
        return cublas;
    }

    /**
     * Tries {@code candidates} in order. When {@code companionStem} is given, that library (e.g. libcublasLt) is
     * opened first from the same directory or by the matching soname, so the loader resolves the dependency to it.
     */
    public static Loaded load(String what, List<LibraryLocator.Candidate> candidates, String companionStem) {
        List<String> tried = new ArrayList<>();
        for (LibraryLocator.Candidate c : candidates) {
            boolean isPath = c.target().contains("/");
            if (isPath && !Files.exists(Path.of(c.target()))) {
                tried.add(c + ": no such file");
                continue;
            }
            if (companionStem != null) openCompanion(c, companionStem);
            try {
                NativeLibrary lib = NativeLibrary.open(c.target(), c.origin());
                tried.add(c + ": loaded");
                return new Loaded(what, lib, List.copyOf(tried));
            } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                tried.add(c + ": " + firstLine(e.getMessage()));
            }
        }
        return new Loaded(what, null, List.copyOf(tried));
    }

    private static void openCompanion(LibraryLocator.Candidate c, String companionStem) {
        String stem = "libcublas";
        try {
            if (c.target().contains("/")) {
                Optional<Path> comp = LibraryLocator.companion(Path.of(c.target()), stem, companionStem);
                if (comp.isPresent()) NativeLibrary.open(comp.get().toString(), c.origin());
            } else if (c.target().startsWith(stem + ".so")) {
                NativeLibrary.open(companionStem + c.target().substring(stem.length()), c.origin());
            }
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            // best effort: opening the main library reports the real problem
        }
    }

    private static String firstLine(String s) {
        if (s == null) return "failed";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
