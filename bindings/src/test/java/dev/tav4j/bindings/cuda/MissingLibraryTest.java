package dev.tav4j.bindings.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The error paths when a CUDA library is absent: reasons, not crashes. Runs on any machine. */
class MissingLibraryTest {
    @TempDir Path tmp;

    @Test void missingFilesAndNonLibrariesAreReasonsNotExceptions() throws IOException {
        Path notElf = tmp.resolve("libcuda.so.1");
        Files.writeString(notElf, "this is not an ELF file");
        CudaLibraries.Loaded r = CudaLibraries.load("the CUDA driver", List.of(
                new LibraryLocator.Candidate(tmp.resolve("nope/libcuda.so.1").toString(), "-Dtav.cuda.driver"),
                new LibraryLocator.Candidate(notElf.toString(), "common location"),
                new LibraryLocator.Candidate("libtav4j-no-such-library.so.7", "loader path")), null);
        assertFalse(r.ok());
        assertEquals(3, r.tried().size());
        assertTrue(r.tried().get(0).endsWith("no such file"), r.tried().get(0));
        assertTrue(r.failure().contains("libtav4j-no-such-library.so.7 [loader path]"), r.failure());
        CudaException e = assertThrows(CudaException.class, r::require);
        assertEquals(CudaException.LIBRARY_MISSING, e.code());
        assertTrue(e.getMessage().contains("the CUDA driver not found"), e.getMessage());
    }

    @Test void handlesOfAMissingLibraryThrowCudaExceptionWhenCalled() throws Throwable {
        CudaLibraries.Loaded none = CudaLibraries.load("the CUDA driver", List.of(), null);
        MethodHandle h = new Binder(none).fn("cuInit", Binder.INT);
        CudaException e = assertThrows(CudaException.class, () -> { int r = (int) h.invokeExact(0); });
        assertTrue(e.getMessage().startsWith("cuInit: the CUDA driver not found"), e.getMessage());
    }

    @Test void driverCallsOnAMachineWithoutDriverFailCleanly() {
        assumeFalse(CuDriver.libraryLoaded(), "this machine has a CUDA driver; the no-driver path is tested elsewhere");
        CudaException e = assertThrows(CudaException.class, CuDriver::init);
        assertTrue(e.getMessage().contains("libcuda.so.1"), e.getMessage());
        assertThrows(CudaException.class, () -> CuMemory.alloc(16));
        assertThrows(CudaException.class, () -> CuStream.create(0));
        assertEquals("CUresult 2", CuDriver.errorName(2));
    }

    @Test void cublasCallsWithoutCublasFailCleanly() {
        assumeFalse(Cublas.libraryLoaded(), "this machine has cuBLAS");
        CudaException e = assertThrows(CudaException.class, Cublas::version);
        assertTrue(e.getMessage().contains("cuBLAS (libcublas.so) not found"), e.getMessage());
    }
}
