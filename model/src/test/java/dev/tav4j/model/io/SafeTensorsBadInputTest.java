package dev.tav4j.model.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.tav4j.model.io.StBytes.entry;
import static org.junit.jupiter.api.Assertions.*;

/** Every malformed file fails at open with a message naming the file and, where one is involved, the tensor. */
class SafeTensorsBadInputTest {
    @TempDir Path tmp;

    private SafeTensorsException openFails(Path file, String... fragments) {
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(file).close());
        assertTrue(e.getMessage().contains(file.toString()), "message should name the file: " + e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "message should contain '" + f + "': " + e.getMessage());
        return e;
    }

    @Test
    void truncatedFile() throws IOException {
        Path f = Files.write(tmp.resolve("short.safetensors"), new byte[]{1, 2, 3, 4, 5});
        openFails(f, "5 bytes", "shorter than");
    }

    @Test
    void emptyFile() throws IOException {
        openFails(Files.write(tmp.resolve("empty.safetensors"), new byte[0]), "0 bytes");
    }

    @Test
    void headerLengthPastTheEnd() throws IOException {
        byte[] h = "{}".getBytes(StandardCharsets.US_ASCII);
        Path f = StBytes.raw(tmp.resolve("past.safetensors"), 1000, h, new byte[0]);
        openFails(f, "header length 1000", "past the end");
    }

    @Test
    void absurdHeaderLength() throws IOException {
        Path f = StBytes.raw(tmp.resolve("huge.safetensors"), -1L, new byte[16], new byte[0]);
        openFails(f, "absurdly large", "18446744073709551615");
        Path g = StBytes.raw(tmp.resolve("big.safetensors"), 200_000_000L, new byte[16], new byte[0]);
        openFails(g, "absurdly large");
    }

    @Test
    void malformedJsonHeader() throws IOException {
        Path f = StBytes.file(tmp.resolve("json.safetensors"), "{\"w\":{\"dtype\":\"F32\",", new byte[0]);
        openFails(f, "not valid JSON");
    }

    @Test
    void headerNotAnObject() throws IOException {
        openFails(StBytes.file(tmp.resolve("list.safetensors"), "[1, 2]", new byte[0]), "not a JSON object");
    }

    @Test
    void trailingGarbageAfterTheHeader() throws IOException {
        openFails(StBytes.file(tmp.resolve("trail.safetensors"), "{} {}", new byte[0]), "not valid JSON");
    }

    @Test
    void duplicateTensorName() throws IOException {
        String h = "{" + entry("w", "F32", "[1]", 0, 4) + "," + entry("w", "F32", "[1]", 4, 8) + "}";
        openFails(StBytes.file(tmp.resolve("dup.safetensors"), h, new byte[8]), "not valid JSON", "w");
    }

    @Test
    void missingDtypeShapeOrOffsets() throws IOException {
        openFails(StBytes.file(tmp.resolve("a.safetensors"), "{\"w1\":{\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "'w1'", "dtype");
        openFails(StBytes.file(tmp.resolve("b.safetensors"), "{\"w2\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", new byte[4]), "'w2'", "shape");
        openFails(StBytes.file(tmp.resolve("c.safetensors"), "{\"w3\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]), "'w3'", "data_offsets");
        openFails(StBytes.file(tmp.resolve("d.safetensors"), "{\"w4\":17}", new byte[4]), "'w4'", "not a JSON object");
    }

    @Test
    void unknownDtype() throws IOException {
        Path f = StBytes.file(tmp.resolve("dtype.safetensors"), "{" + entry("enc.weight", "Q4", "[2]", 0, 2) + "}", new byte[2]);
        openFails(f, "'enc.weight'", "unknown dtype 'Q4'", "F32");
    }

    @Test
    void negativeDimension() throws IOException {
        Path f = StBytes.file(tmp.resolve("neg.safetensors"), "{" + entry("neg", "F32", "[2,-1]", 0, 0) + "}", new byte[0]);
        openFails(f, "'neg'", "negative dimension");
    }

    @Test
    void nonIntegerDimension() throws IOException {
        Path f = StBytes.file(tmp.resolve("frac.safetensors"), "{" + entry("frac", "F32", "[2.5]", 0, 10) + "}", new byte[10]);
        openFails(f, "'frac'", "non-integer");
    }

    @Test
    void offsetsOutOfRange() throws IOException {
        Path f = StBytes.file(tmp.resolve("range.safetensors"), "{" + entry("conv.bias", "F32", "[4]", 0, 16) + "}", new byte[12]);
        openFails(f, "'conv.bias'", "beyond the data area", "12 bytes");
    }

    @Test
    void offsetsReversed() throws IOException {
        Path f = StBytes.file(tmp.resolve("rev.safetensors"), "{" + entry("rev", "F32", "[0]", 8, 4) + "}", new byte[8]);
        openFails(f, "'rev'", "begin <= end");
    }

    @Test
    void offsetsNotAPair() throws IOException {
        Path f = StBytes.file(tmp.resolve("pair.safetensors"), "{\"p\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", new byte[4]);
        openFails(f, "'p'", "[begin, end]");
    }

    @Test
    void overlappingOffsets() throws IOException {
        String h = "{" + entry("first", "F32", "[4]", 0, 16) + "," + entry("second", "F32", "[4]", 8, 24) + "}";
        openFails(StBytes.file(tmp.resolve("overlap.safetensors"), h, new byte[24]), "'first'", "'second'", "overlap");
    }

    @Test
    void byteLengthNotMatchingShape() throws IOException {
        Path f = StBytes.file(tmp.resolve("len.safetensors"), "{" + entry("proj.weight", "F16", "[3,2]", 0, 24) + "}", new byte[24]);
        openFails(f, "'proj.weight'", "24 bytes", "needs 12");
    }

    @Test
    void metadataWithNonStringValue() throws IOException {
        Path f = StBytes.file(tmp.resolve("meta.safetensors"), "{\"__metadata__\":{\"format\":1}}", new byte[0]);
        openFails(f, "__metadata__", "format");
    }

    @Test
    void missingFile() {
        openFails(tmp.resolve("nope.safetensors"), "not found");
    }

    @Test
    void unsupportedDtypeFailsAtLoadNamingTheTensor() throws IOException {
        Path f = StBytes.file(tmp.resolve("f8.safetensors"), "{" + entry("scale", "F8_E4M3", "[2]", 0, 2) + "}", new byte[2]);
        try (SafeTensors st = SafeTensors.open(f)) {
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> st.loadF32("scale"));
            assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("'scale'") && e.getMessage().contains("F8_E4M3"), e.getMessage());
        }
    }

    @Test
    void floatTensorIsNotReadAsLongs() throws IOException {
        Path f = StBytes.file(tmp.resolve("fl.safetensors"), "{" + entry("x", "F32", "[1]", 0, 4) + "}", new byte[4]);
        try (SafeTensors st = SafeTensors.open(f)) {
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> st.loadLongs("x"));
            assertTrue(e.getMessage().contains("'x'") && e.getMessage().contains("F32"), e.getMessage());
            SafeTensorsException m = assertThrows(SafeTensorsException.class, () -> st.info("y"));
            assertTrue(m.getMessage().contains("'y'") && m.getMessage().contains(f.toString()), m.getMessage());
        }
    }
}
