package dev.tav4j.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tav4j.bindings.cuda.CuDriver;
import org.junit.jupiter.api.Test;

/** The probe answers on any machine; without a driver it says so and why. */
class CudaProbeTest {
    @Test void probeNeverThrowsAndExplainsItself() {
        CudaProbe.Report r = CudaProbe.probe();
        System.out.print(r.text());
        assertFalse(r.availability().reason().isBlank());
        assertTrue(r.text().contains("driver library:"), r.text());
        assertTrue(r.text().contains("usable:"), r.text());
        if (!CuDriver.libraryLoaded()) {
            assertFalse(r.availability().available());
            assertTrue(r.availability().reason().startsWith("no CUDA driver"), r.availability().reason());
            assertTrue(r.availability().reason().contains("libcuda.so.1 [loader path]"), r.availability().reason());
        }
    }

    @Test void versionsPrintLikeCuda() {
        assertTrue(CudaProbe.version(13000).equals("13.0"));
        assertTrue(CudaProbe.version(12080).equals("12.8"));
    }
}
