package dev.tav4j.model.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class SafeTensorsWriterTest {
    @TempDir Path tmp;

    @Test
    void writeEachMakesAndClosesOneTensorAtATime() throws IOException {
        Path f = tmp.resolve("each.safetensors");
        Map<String, int[]> shapes = new LinkedHashMap<>();
        shapes.put("w", new int[]{2, 2});
        shapes.put("b", new int[]{3});
        List<Tensor> made = new java.util.ArrayList<>();
        int[] live = {0};
        SafeTensorsWriter.writeEach(f, shapes, name -> {
            assertEquals(0, live[0], "the previous tensor was closed before the next is made");
            Tensor t = name.equals("w") ? Tensor.of(new float[]{1, 2, 3, 4}, 2, 2) : Tensor.of(new float[]{5, 6, 7}, 3);
            made.add(t);
            live[0]++;
            return new Tensor(dev.tav4j.runtime.HostStorage.external(t.segment(), () -> { live[0]--; t.close(); }), 0,
                    dev.tav4j.runtime.DType.F32, true, t.shape());
        }, Map.of());
        assertEquals(0, live[0]);
        try (SafeTensors st = SafeTensors.open(f); Tensor w = st.loadF32("w"); Tensor b = st.loadF32("b")) {
            assertArrayEquals(new float[]{1, 2, 3, 4}, w.toArray());
            assertArrayEquals(new float[]{5, 6, 7}, b.toArray());
        }
        Path bad = tmp.resolve("bad.safetensors");
        SafeTensorsException e = assertThrows(SafeTensorsException.class,
                () -> SafeTensorsWriter.writeEach(bad, Map.of("w", new int[]{4}), name -> Tensor.of(new float[]{1, 2}, 2), Map.of()));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("[4]"), e.getMessage());
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of("each.safetensors"), left.map(p -> p.getFileName().toString()).sorted().toList(), "nothing half-written");
        }
    }

    @Test
    void roundTripKeepsOrderShapesValuesAndMetadata() throws IOException {
        Path f = tmp.resolve("rt.safetensors");
        try (Tensor a = Tensor.of(new float[]{1.5f, -2f, Float.MIN_VALUE, 3e38f, -0f, 7f}, 2, 3);
             Tensor b = Tensor.of(new float[]{42f}, 1);
             Tensor big = Tensor.host(700_000)) { // more than one write chunk
            for (int i = 0; i < big.size(); i++) big.set(i, i * 0.5f);
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("z.weight", a);
            m.put("a.bias", b);
            m.put("big", big.slice(0, 700_000));
            SafeTensorsWriter.write(f, m, Map.of("format", "pt"));
            try (SafeTensors st = SafeTensors.open(f)) {
                assertEquals(List.of("z.weight", "a.bias", "big"), List.copyOf(st.names()));
                assertEquals(Map.of("format", "pt"), st.metadata());
                assertEquals("F32", st.info("z.weight").dtype());
                try (Tensor r = st.loadF32("z.weight")) {
                    assertArrayEquals(new int[]{2, 3}, r.shape());
                    float[] want = a.toArray(), got = r.toArray();
                    for (int i = 0; i < want.length; i++) assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]));
                }
                try (Tensor r = st.loadF32("a.bias")) { assertArrayEquals(new float[]{42f}, r.toArray()); }
                try (Tensor r = st.loadF32("big")) { assertArrayEquals(big.toArray(), r.toArray()); }
            }
        }
    }

    @Test
    void headerIsSpacePaddedToEightBytesAndDataIsLittleEndian() throws IOException {
        Path f = tmp.resolve("pad.safetensors");
        try (Tensor a = Tensor.of(new float[]{1f, 2f, 3f}, 3)) {
            SafeTensorsWriter.write(f, Map.of("abc", a), Map.of());
        }
        byte[] bytes = Files.readAllBytes(f);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long n = b.getLong(0);
        assertEquals(0, n % 8, "header length " + n);
        assertEquals(8 + n + 12, bytes.length);
        String header = new String(bytes, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8);
        String trimmed = header.stripTrailing();
        assertTrue(header.substring(trimmed.length()).chars().allMatch(c -> c == ' '), "padding is spaces: '" + header + "'");
        JsonNode j = new ObjectMapper().readTree(trimmed);
        assertEquals("F32", j.get("abc").get("dtype").asText());
        assertEquals("[3]", j.get("abc").get("shape").toString());
        assertEquals("[0,12]", j.get("abc").get("data_offsets").toString());
        assertNull(j.get("__metadata__"), "no empty metadata object");
        assertEquals(1f, b.getFloat((int) (8 + n)));
        assertEquals(3f, b.getFloat((int) (8 + n + 8)));
    }

    @Test
    void replacesAnExistingFileAndLeavesNoTemporaries() throws IOException {
        Path f = Files.writeString(tmp.resolve("out.safetensors"), "old");
        try (Tensor a = Tensor.of(new float[]{5f}, 1)) {
            SafeTensorsWriter.write(f, Map.of("x", a), null);
        }
        try (SafeTensors st = SafeTensors.open(f); Tensor r = st.loadF32("x")) { assertEquals(5f, r.get(0)); }
        assertEquals(List.of("out.safetensors"), listing());
    }

    @Test
    void failureMidWriteLeavesTheOldFileUntouched() throws IOException {
        Path f = Files.writeString(tmp.resolve("keep.safetensors"), "previous contents");
        Tensor released = Tensor.of(new float[]{1f, 2f}, 2);
        released.close(); // its storage is gone: writing its data fails after the header is out
        try (Tensor ok = Tensor.of(new float[]{3f}, 1)) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("ok", ok);
            m.put("gone", released);
            assertThrows(RuntimeException.class, () -> SafeTensorsWriter.write(f, m, Map.of()));
        }
        assertEquals("previous contents", Files.readString(f));
        assertEquals(List.of("keep.safetensors"), listing());
    }

    @Test
    void unwritableTargetNamesTheFile() {
        Path f = tmp.resolve("no-such-folder").resolve("x.safetensors");
        try (Tensor a = Tensor.of(new float[]{1f}, 1)) {
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensorsWriter.write(f, Map.of("x", a), Map.of()));
            assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        }
        assertFalse(Files.exists(f));
    }

    @Test
    void metadataNameIsRefusedAsATensorName() {
        try (Tensor a = Tensor.of(new float[]{1f}, 1)) {
            Path f = tmp.resolve("m.safetensors");
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensorsWriter.write(f, Map.of("__metadata__", a), Map.of()));
            assertTrue(e.getMessage().contains("__metadata__"), e.getMessage());
            assertFalse(Files.exists(f));
        }
    }

    private List<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }


    /** Issue 12: tensors were written 0600 (a createTempFile temp) while GIFs follow the umask; now both do. */
    @Test
    void permissionsFollowTheUmaskLikeAnyNewFile(@TempDir Path dir) throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(dir.getFileSystem().supportedFileAttributeViews().contains("posix"), "POSIX permissions");
        Path file = dir.resolve("t.safetensors");
        SafeTensorsWriter.write(file, Map.of("x", Tensor.zeros(2)), Map.of());
        Path plain = Files.createFile(dir.resolve("plain"));  // what the umask gives a new file
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(file));
    }

    @Test
    void halfPrecisionIsRoundedToNearestEvenAndReadBack() throws IOException {
        float[] v = {1f, -2.5f, 1f + 0x1p-11f, 1f + 0x1p-11f + 0x1p-20f, 65504f, 1e-8f, 3.14159265f, -0f, 1f + 0x1p-8f, 1f + 0x1p-8f + 0x1p-9f};
        for (dev.tav4j.runtime.DType d : new dev.tav4j.runtime.DType[]{dev.tav4j.runtime.DType.F16, dev.tav4j.runtime.DType.BF16}) {
            Path f = tmp.resolve(d + ".safetensors");
            SafeTensorsWriter.writeEach(f, Map.of("x", new int[]{v.length}), name -> Tensor.of(v.clone(), v.length), d, Map.of());
            assertEquals(8 + SafeTensorsWriter.header(f, Map.of("x", new int[]{v.length}), d, Map.of()).length + 2L * v.length, Files.size(f));
            try (SafeTensors st = SafeTensors.open(f); Tensor x = st.loadF32("x")) {
                float[] got = x.toArray();
                for (int i = 0; i < v.length; i++) {
                    float want = d == dev.tav4j.runtime.DType.F16 ? Float.float16ToFloat(Float.floatToFloat16(v[i]))
                            : Float.intBitsToFloat((Float.floatToRawIntBits(v[i]) + 0x7FFF + ((Float.floatToRawIntBits(v[i]) >>> 16) & 1)) & 0xFFFF0000);
                    assertEquals(want, got[i], 0f, d + " element " + i);
                }
                if (d == dev.tav4j.runtime.DType.F16) {
                    assertEquals(1f, got[2], 0f, "a tie rounds to even (down)");
                    assertEquals(1f + 0x1p-10f, got[3], 0f, "above the tie rounds up");
                } else {
                    assertEquals(1f, got[8], 0f, "a BF16 tie rounds to even (down)");
                    assertEquals(1f + 0x1p-7f, got[9], 0f, "above the BF16 tie rounds up");
                }
            }
        }
    }
}
