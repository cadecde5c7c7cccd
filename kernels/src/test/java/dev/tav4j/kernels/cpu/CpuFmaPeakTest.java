package dev.tav4j.kernels.cpu;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The FMA-peak loop computes what it claims (so its flop count is honest) and the measurement reports sane fields. */
class CpuFmaPeakTest {
    @Test
    void theChainsComputeFusedMultiplyAdds() {
        for (long iters : new long[]{0, 1, 3, 17}) {
            float c = 2.5f;
            for (long i = 0; i < iters; i++) c = Math.fma(0.999999f, c, 1e-6f);
            // twelve equal chains of VL equal lanes, summed: 12·VL·c up to the rounding of the sums
            float want = 12f * Vec.VL * c;
            assertEquals(want, CpuFmaPeak.chains(iters, 2.5f), Math.ulp(want) * 16, "iters " + iters);
        }
        assertEquals(2.0 * Vec.VL * 12 * 1000, CpuFmaPeak.flops(1000), 0);
    }

    @Test
    void theMeasurementNamesTheMachineAndIsPositive() {
        CpuFmaPeak.Peak p = CpuFmaPeak.measure(2, 20);
        assertFalse(p.model().isBlank());
        assertFalse(p.flags().isBlank());
        assertEquals(Vec.VL, p.lanes());
        assertTrue(p.gflopsOne() > 0 && Double.isFinite(p.gflopsOne()), p.describe());
        assertTrue(p.gflopsAll() > 0 && Double.isFinite(p.gflopsAll()), p.describe());
        assertTrue(p.describe().contains("GFLOP/s"), p.describe());
    }
}
