package dev.tav4j.model.io;

import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dev.tav4j.model.io.StBytes.*;
import static org.junit.jupiter.api.Assertions.*;

/** Reading hand-built files: every dtype converted as PyTorch's .float() would, names in header order. */
class SafeTensorsReadTest {
    @TempDir Path tmp;

    @Test
    void f16BitPatterns() throws IOException {
        // 1, -2, 65504 (max), 2^-24 (smallest subnormal), 1/3 rounded to F16, -0, +inf
        byte[] d = u16(0x3C00, 0xC000, 0x7BFF, 0x0001, 0x3555, 0x8000, 0x7C00);
        Path f = file(tmp.resolve("h.safetensors"), "{" + entry("h", "F16", "[7]", 0, 14) + "}", d);
        try (SafeTensors st = SafeTensors.open(f); Tensor t = st.loadF32("h")) {
            float[] v = t.toArray();
            assertEquals(1f, v[0]);
            assertEquals(-2f, v[1]);
            assertEquals(65504f, v[2]);
            assertEquals(0x1p-24f, v[3]);
            assertEquals(0.333251953125f, v[4]);
            assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(v[5]));
            assertEquals(Float.POSITIVE_INFINITY, v[6]);
        }
    }

    @Test
    void bf16BitPatterns() throws IOException {
        // 1, -5, 1/3 rounded to BF16 (0x3EAB = 0.333984375), the smallest subnormal, 3.3895314e38 (max)
        byte[] d = u16(0x3F80, 0xC0A0, 0x3EAB, 0x0001, 0x7F7F);
        Path f = file(tmp.resolve("b.safetensors"), "{" + entry("b", "BF16", "[5,1]", 0, 10) + "}", d);
        try (SafeTensors st = SafeTensors.open(f); Tensor t = st.loadF32("b")) {
            assertArrayEquals(new int[]{5, 1}, t.shape());
            float[] v = t.toArray();
            assertEquals(1f, v[0]);
            assertEquals(-5f, v[1]);
            assertEquals(0.333984375f, v[2]);
            assertEquals(Float.intBitsToFloat(0x00010000), v[3]);
            assertEquals(Float.intBitsToFloat(0x7F7F0000), v[4]);
        }
    }

    @Test
    void f64AndIntegersRoundToNearest() throws IOException {
        long big = (1L << 53) + 1; // not representable in float: rounds to 2^53
        byte[] d = concat(f64(0.1, -1e300, 1.5), i64(big, -3, Long.MAX_VALUE), i32(-7, 16777217), new byte[]{(byte) 255, 0, 7},
                new byte[]{(byte) -1, 5}, u16(0xFFFF), new byte[]{1, 0});
        String h = "{" + entry("d", "F64", "[3]", 0, 24) + "," + entry("l", "I64", "[3]", 24, 48) + ","
                + entry("i", "I32", "[2]", 48, 56) + "," + entry("u", "U8", "[3]", 56, 59) + ","
                + entry("s", "I8", "[2]", 59, 61) + "," + entry("w", "I16", "[1]", 61, 63) + ","
                + entry("m", "BOOL", "[2]", 63, 65) + "}";
        Path f = file(tmp.resolve("mixed.safetensors"), h, d);
        try (SafeTensors st = SafeTensors.open(f)) {
            assertEquals(List.of("d", "l", "i", "u", "s", "w", "m"), List.copyOf(st.names()));
            assertArrayEquals(new float[]{0.1f, Float.NEGATIVE_INFINITY, 1.5f}, load(st, "d"));
            assertArrayEquals(new float[]{9007199254740992f, -3f, 9.223372e18f}, load(st, "l"));
            assertArrayEquals(new float[]{-7f, 16777216f}, load(st, "i"));
            assertArrayEquals(new float[]{255f, 0f, 7f}, load(st, "u"));
            assertArrayEquals(new float[]{-1f, 5f}, load(st, "s"));
            assertArrayEquals(new float[]{-1f}, load(st, "w"));
            assertArrayEquals(new float[]{1f, 0f}, load(st, "m"));
            assertArrayEquals(new long[]{big, -3, Long.MAX_VALUE}, st.loadLongs("l"));
            assertArrayEquals(new long[]{-7, 16777217}, st.loadLongs("i"));
            assertArrayEquals(new long[]{255, 0, 7}, st.loadLongs("u"));
        }
    }

    @Test
    void namesInfoAndMetadataFollowTheHeader() throws IOException {
        String h = "{\"zeta\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[8,24]},\"__metadata__\":{\"format\":\"pt\"},"
                + entry("alpha", "F32", "[2]", 0, 8) + "," + entry("empty", "F32", "[0,3]", 24, 24) + ","
                + entry("scalar", "F32", "[]", 24, 28) + "}";
        Path f = file(tmp.resolve("order.safetensors"), h, f32(1, 2, 3, 4, 5, 6, 42));
        try (SafeTensors st = SafeTensors.open(f)) {
            assertEquals(f, st.path());
            assertEquals(List.of("zeta", "alpha", "empty", "scalar"), List.copyOf(st.names()));
            assertEquals(Map.of("format", "pt"), st.metadata());
            SafeTensors.TensorInfo z = st.info("zeta");
            assertEquals("F32", z.dtype());
            assertArrayEquals(new long[]{2, 2}, z.shape());
            assertEquals(8, z.begin());
            assertEquals(24, z.end());
            assertArrayEquals(new float[]{3, 4, 5, 6}, load(st, "zeta"));
            assertArrayEquals(new float[]{1, 2}, load(st, "alpha"));
            try (Tensor e = st.loadF32("empty")) { assertArrayEquals(new int[]{0, 3}, e.shape()); }
            try (Tensor s = st.loadF32("scalar")) {
                assertEquals(0, s.rank());
                assertEquals(42f, s.get(0));
            }
        }
    }

    @Test
    void largeF16TensorConvertsInParallelChunks() throws IOException {
        int n = 300_000; // several chunks of the parallel conversion
        int[] bits = new int[n];
        for (int i = 0; i < n; i++) bits[i] = i & 0x7BFF; // finite patterns only
        Path f = file(tmp.resolve("big.safetensors"), "{" + entry("x", "F16", "[" + n + "]", 0, 2L * n) + "}", u16(bits));
        try (SafeTensors st = SafeTensors.open(f); Tensor t = st.loadF32("x")) {
            float[] v = t.toArray();
            for (int i = 0; i < n; i++) assertEquals(Float.float16ToFloat((short) bits[i]), v[i], "element " + i);
        }
    }

    @Test
    void useAfterCloseIsAClearError() throws IOException {
        Path f = file(tmp.resolve("c.safetensors"), "{" + entry("x", "F32", "[1]", 0, 4) + "}", f32(1));
        SafeTensors st = SafeTensors.open(f);
        Tensor kept = st.loadF32("x");
        st.close();
        assertEquals(1f, kept.get(0), "loaded tensors are copies and outlive the file");
        kept.close();
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> st.loadF32("x"));
        assertTrue(e.getMessage().contains("after close"), e.getMessage());
    }

    private static float[] load(SafeTensors st, String name) {
        try (Tensor t = st.loadF32(name)) { return t.toArray(); }
    }
}
