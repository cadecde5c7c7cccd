package dev.tav4j.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Run only by the kernels' narrow-vector test executions (pom: cpu-8-lanes, cpu-4-lanes), which rerun the CPU kernel
 * tests with -XX:MaxVectorSize so that the Vector API's preferred species has the lanes of AVX2 (8) or of NEON (4):
 * this checks that the JVM really took the flag, so those runs cannot pass at this machine's own width unnoticed.
 */
class VectorWidthTest {
    @Test
    void kernelsRunAtTheLaneCountTheExecutionAsksFor() {
        int want = Integer.getInteger("tav.test.lanes", -1);
        assertEquals(want, Vec.VL, "fp32 lanes of the kernels' species " + Vec.S + " (tav.test.lanes)");
    }
}
