package dev.tav4j.model.golden;

import dev.tav4j.model.io.SafeTensors;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The harness itself: root resolution, skip message, and that Parity can fail. */
class GoldenDataTest {

    @Test
    void missingRootSkipsWithThePath(@TempDir Path tmp) {
        assumeTrue(System.getenv("TAV_GOLDEN") == null, "TAV_GOLDEN is set, so the property is not consulted");
        Path missing = tmp.resolve("no-golden-here");
        String before = System.getProperty("tav.golden");
        System.setProperty("tav.golden", missing.toString());
        try {
            assertEquals(missing, GoldenData.configuredRoot());
            if ("1".equals(System.getenv("TAV_GOLDEN_REQUIRED"))) {
                AssertionFailedError e = assertThrows(AssertionFailedError.class, GoldenData::root);
                assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
            } else {
                TestAbortedException e = assertThrows(TestAbortedException.class, GoldenData::root);
                assertTrue(e.getMessage().contains("golden data not found at " + missing), e.getMessage());
                assertTrue(e.getMessage().contains("set TAV_GOLDEN"), e.getMessage());
            }
        } finally {
            if (before == null) System.clearProperty("tav.golden"); else System.setProperty("tav.golden", before);
        }
    }

    @Test
    void casesAreListedWithTheirOps() {
        var cases = GoldenData.cases();
        assertTrue(cases.stream().anyMatch(c -> c.op().equals("vae")), cases.toString());
        GoldenCase vae = GoldenData.named("a-vae");
        assertEquals("vae", vae.op());
        // case.json model paths ("../models/…") resolve from the cases/ folder, where the models are
        assertEquals(GoldenData.models().resolve("tiny-sd-a").normalize(), vae.path("model"));
        assertTrue(java.nio.file.Files.isRegularFile(vae.path("model").resolve("model_index.json")));
        assertEquals(java.util.List.of("pixels", "z"), vae.list("inputs"));
        assertNull(GoldenData.named("a-unet3d-inflated").path("unet"));
    }

    @Test
    void parityPassesOnEqualAndFailsOnDifferentTensors() {
        GoldenCase vae = GoldenData.named("a-vae");
        try (vae; Tensor ref = vae.tensor("z"); Tensor same = vae.tensor("z"); Tensor off = vae.tensor("z")) {
            assertEquals(0.0, Parity.check(vae.label("z"), same, ref, 1e-4));
            float maxAbs = 0;
            for (float x : ref.toArray()) maxAbs = Math.max(maxAbs, Math.abs(x));
            off.set(7, off.get(7) + 0.01f * maxAbs); // 1e-2 relative error
            assertEquals(0.01, Parity.relErr(off, ref), 1e-4);
            assertThrows(AssertionFailedError.class, () -> Parity.check("deliberate-fail/z-perturbed", off, ref, 1e-4));
            off.set(3, Float.NaN);
            assertTrue(Double.isNaN(Parity.relErr(off, ref)));
            assertThrows(AssertionFailedError.class, () -> Parity.check("deliberate-fail/z-nan", off, ref, 1));
            try (Tensor reshaped = Tensor.host(ref.shape()[0], (int) ref.sizeFrom(1)).copyFrom(ref)) {
                assertThrows(AssertionFailedError.class, () -> Parity.check("deliberate-fail/z-shape", reshaped, ref, 1));
            }
        }
    }

    @Test
    void withinAbsoluteRuleAllowsOneInAThousand() {
        try (Tensor ref = Tensor.zeros(2000); Tensor got = Tensor.zeros(2000)) {
            got.set(5, 1e-5f);
            got.set(6, -1e-5f);
            Parity.checkWithin("two-outside", got, ref, Parity.PARAM_ABS, Parity.PARAM_FRACTION);
            got.set(7, 1e-5f);
            assertEquals(3, Parity.countOutside(got, ref, Parity.PARAM_ABS));
            assertThrows(AssertionFailedError.class, () -> Parity.checkWithin("deliberate-fail/three-outside", got, ref, Parity.PARAM_ABS, Parity.PARAM_FRACTION));
            Parity.Tally t = Parity.Tally.params("tally");
            t.add("a", got, ref).add("b", ref, ref);
            t.check(); // 3 of 4000 is within 0.1 %
            assertEquals(3, t.outside());
            assertEquals(4000, t.total());
        }
    }

    @Test
    void caseTensorsAreSharedAndClosedWithTheCase() {
        GoldenCase c = GoldenData.named("a-tokenize");
        SafeTensors st = c.tensors();
        assertSame(st, c.tensors());
        c.close();
        assertThrows(RuntimeException.class, () -> st.loadLongs("input_ids"));
    }
}
