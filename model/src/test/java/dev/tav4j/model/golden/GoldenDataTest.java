package dev.tav4j.model.golden;

import dev.tav4j.model.io.SafeTensors;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The harness itself: root resolution, skip message, and that Parity can fail. */
class GoldenDataTest {

    @Test
    void noRootSkipsWithThePathsAndRequiredFails(@TempDir Path tmp) {
        Path missing = tmp.resolve("no-golden-here"), gone = tmp.resolve("gone");
        var none = new GoldenData.Sources(missing, tmp.resolve("no-shared"), List.of(gone), false);
        TestAbortedException e = assertThrows(TestAbortedException.class, none::roots);
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains(gone.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("set TAV_GOLDEN"), e.getMessage());
        var required = new GoldenData.Sources(missing, null, List.of(), true);
        AssertionFailedError f = assertThrows(AssertionFailedError.class, required::roots);
        assertTrue(f.getMessage().contains(missing.toString()), f.getMessage());
    }

    @Test
    void rootsInOrderEachOnceAndAMissingExtraFolderFailsWhenRequired(@TempDir Path tmp) throws Exception {
        Path repo = Files.createDirectories(tmp.resolve("repo")), shared = Files.createDirectories(tmp.resolve("shared"));
        Path more = Files.createDirectories(tmp.resolve("more"));
        // CI names ../shared/golden in TAV_GOLDEN too: one root, not two
        assertEquals(List.of(repo, shared, more), new GoldenData.Sources(repo, shared, List.of(shared, more), true).roots());
        assertEquals(List.of(repo), new GoldenData.Sources(repo, tmp.resolve("no-shared"), List.of(), true).roots(),
                "../shared/golden is optional");
        assertEquals(List.of(repo), new GoldenData.Sources(repo, null, List.of(tmp.resolve("typo")), false).roots());
        assertThrows(AssertionFailedError.class, () -> new GoldenData.Sources(repo, null, List.of(tmp.resolve("typo")), true).roots());
    }

    @Test
    void aCaseInTwoRootsRunsOnceWithTheSameBytesAndTwiceWithOthers(@TempDir Path tmp) throws Exception {
        Path a = fakeRoot(tmp.resolve("a"), "w1", "m1"), b = fakeRoot(tmp.resolve("b"), "w1", "m1");
        assertEquals(List.of("x-case"), GoldenData.cases(List.of(a, b)).stream().map(GoldenCase::name).toList());
        Path c = fakeRoot(tmp.resolve("c"), "w1", "m2");  // same case folder, other model bytes
        Path d = fakeRoot(tmp.resolve("d"), "w2", "m1");  // other tensors
        var names = GoldenData.cases(List.of(a, b, c, d)).stream().map(GoldenCase::name).toList();
        assertEquals(List.of("x-case", "x-case [" + c + "]", "x-case [" + d + "]"), names);
    }

    /** A root with one case (op tokenize) whose tensors file holds {@code tensors}, reading model m holding {@code model}. */
    private static Path fakeRoot(Path root, String tensors, String model) throws Exception {
        Path cs = Files.createDirectories(root.resolve("cases/x-case")), m = Files.createDirectories(root.resolve("models/m"));
        Files.writeString(cs.resolve("case.json"), "{\"op\": \"tokenize\", \"model\": \"../models/m\"}");
        Files.writeString(cs.resolve("tensors.safetensors"), tensors);
        Files.writeString(m.resolve("w.safetensors"), model);
        return root;
    }

    @Test
    void rebuiltFileIsCheckedAgainstItsSha256(@TempDir Path tmp) throws Exception {
        Path root = Files.createDirectories(tmp.resolve("g"));
        // source: tensors "a" (4 bytes) and "b" (8 bytes); target: b then a, under other names
        byte[] src = safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                new byte[]{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
        byte[] dst = safetensors("{\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                new byte[]{5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3, 4});
        Files.createDirectories(root.resolve("models"));
        Files.write(root.resolve("models/src.safetensors"), src);
        int headerLen = dst.length - 12;
        Files.write(root.resolve("dst.header"), java.util.Arrays.copyOf(dst, headerLen));
        String manifest = "{\"files\": [{\"path\": \"models/out/dst.safetensors\", \"size\": %d, \"sha256\": \"%s\", \"header\": \"dst.header\","
                + " \"sources\": [\"models/src.safetensors\"], \"tensors\": [[0, \"b\"], [0, \"a\"]]}]}";
        Files.writeString(root.resolve("rebuild.json"), manifest.formatted(dst.length, sha(dst)));
        GoldenRebuild.ensure(root);
        assertArrayEquals(dst, Files.readAllBytes(root.resolve("models/out/dst.safetensors")));

        Path other = Files.createDirectories(tmp.resolve("h"));
        Files.createDirectories(other.resolve("models"));
        Files.write(other.resolve("models/src.safetensors"), src);
        Files.write(other.resolve("dst.header"), java.util.Arrays.copyOf(dst, headerLen));
        Files.writeString(other.resolve("rebuild.json"), manifest.formatted(dst.length, sha(src)));  // deliberately the wrong hash
        var e = assertThrows(IllegalStateException.class, () -> GoldenRebuild.ensure(other));
        assertTrue(e.getMessage().contains("SHA-256"), e.getMessage());
        assertFalse(Files.exists(other.resolve("models/out/dst.safetensors")), "nothing left in place");
        try (var s = Files.list(other.resolve("models/out"))) { assertEquals(0, s.count(), "no temporary file left"); }
    }

    private static byte[] safetensors(String header, byte[] data) {
        byte[] h = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        var b = java.nio.ByteBuffer.allocate(8 + h.length + data.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        return b.putLong(h.length).put(h).put(data).array();
    }

    private static String sha(byte[] b) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
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
