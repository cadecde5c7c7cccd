package dev.tav4j.bindings.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LibraryLocatorTest {
    @TempDir Path tmp;

    private Path touch(String rel) throws IOException {
        Path p = tmp.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.writeString(p, "not a library");
        return p;
    }

    private static LibraryLocator.Env env(Map<String, String> props, Map<String, String> vars,
                                          List<Path> driverDirs, List<Path> common, List<Path> pyRoots) {
        return new LibraryLocator.Env(props::get, vars::get, driverDirs, common, pyRoots);
    }

    @Test void picksHighestVersionAndNotTheLtLibrary() throws IOException {
        touch("lib/libcublas.so");
        touch("lib/libcublas.so.12");
        Path best = touch("lib/libcublas.so.13");
        touch("lib/libcublasLt.so.14");
        touch("lib/libcublas.so.13.bak");
        assertEquals(best, LibraryLocator.bestIn(tmp.resolve("lib"), "libcublas").orElseThrow());
        assertEquals(tmp.resolve("lib/libcublasLt.so.14"), LibraryLocator.bestIn(tmp.resolve("lib"), "libcublasLt").orElseThrow());
        assertTrue(LibraryLocator.bestIn(tmp.resolve("missing"), "libcublas").isEmpty());
    }

    @Test void cublasSearchOrderPropertyCudaHomeLoaderCommonSitePackages() throws IOException {
        Path prop = touch("prop/libcublas.so.12");
        Path home = touch("cuda/lib64/libcublas.so.13");
        Path common = touch("common/libcublas.so.13");
        Path wheel = touch("venv/lib/python3.12/site-packages/nvidia/cu13/lib/libcublas.so.13");
        Path wheel12 = touch("venv/lib/python3.12/site-packages/nvidia/cublas/lib/libcublas.so.12");
        var e = env(Map.of(LibraryLocator.CUBLAS_PROPERTY, tmp.resolve("prop").toString()),
                Map.of("CUDA_HOME", tmp.resolve("cuda").toString()),
                List.of(), List.of(tmp.resolve("common"), tmp.resolve("nothing-here")), List.of(tmp.resolve("venv/lib")));
        List<LibraryLocator.Candidate> c = LibraryLocator.cublasCandidates(e);
        List<String> targets = c.stream().map(LibraryLocator.Candidate::target).toList();
        assertEquals(List.of(prop.toString(), home.toString(), "libcublas.so.13", "libcublas.so.12", "libcublas.so",
                common.toString(), wheel12.toString(), wheel.toString()), targets);
        assertEquals("-Dtav.cublas", c.get(0).origin());
        assertEquals("$CUDA_HOME/lib64", c.get(1).origin());
        assertEquals("loader path", c.get(2).origin());
        assertEquals("python site-packages", c.get(7).origin());
    }

    @Test void cublasPropertyMayNameAFile() {
        var e = env(Map.of(LibraryLocator.CUBLAS_PROPERTY, "/x/libcublas.so.99"), Map.of(), List.of(), List.of(), List.of());
        assertEquals(new LibraryLocator.Candidate("/x/libcublas.so.99", "-Dtav.cublas"), LibraryLocator.cublasCandidates(e).get(0));
    }

    @Test void driverPropertyFirstThenLoaderThenExistingCommonLocations() throws IOException {
        Path d = touch("nv/libcuda.so.1");
        var e = env(Map.of(LibraryLocator.DRIVER_PROPERTY, "/opt/x/libcuda.so.1"), Map.of(),
                List.of(tmp.resolve("nv"), tmp.resolve("empty")), List.of(), List.of());
        assertEquals(List.of(new LibraryLocator.Candidate("/opt/x/libcuda.so.1", "-Dtav.cuda.driver"),
                new LibraryLocator.Candidate("libcuda.so.1", "loader path"),
                new LibraryLocator.Candidate(d.toString(), "common location")), LibraryLocator.driverCandidates(e));
    }

    @Test void pythonpathEntriesAreSitePackages() throws IOException {
        Path w = touch("pp/nvidia/cublas/lib/libcublas.so.12");
        var e = env(Map.of(), Map.of("PYTHONPATH", tmp.resolve("pp") + ":"), List.of(), List.of(), List.of());
        assertEquals(w.toString(), LibraryLocator.cublasCandidates(e).getLast().target());
    }

    @Test void companionHasTheSameVersionSuffix() throws IOException {
        Path lib = touch("l/libcublas.so.13");
        Path lt = touch("l/libcublasLt.so.13");
        touch("l/libcublasLt.so.12");
        assertEquals(lt, LibraryLocator.companion(lib, "libcublas", "libcublasLt").orElseThrow());
    }
}
