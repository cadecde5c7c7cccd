package dev.tav4j.model.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds safetensors files byte by byte for tests (independent of {@link SafeTensorsWriter}). */
final class StBytes {
    private StBytes() {}

    /** 8-byte little-endian length of {@code header}, the header text, then {@code data}. */
    static Path file(Path path, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return raw(path, h.length, h, data);
    }

    /** Like {@link #file} but with an arbitrary declared header length. */
    static Path raw(Path path, long declaredHeaderLength, byte[] header, byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(declaredHeaderLength).array());
        out.write(header);
        out.write(data);
        Files.write(path, out.toByteArray());
        return path;
    }

    static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Little-endian bytes of floats. */
    static byte[] f32(float... v) {
        ByteBuffer b = le(v.length * 4);
        for (float x : v) b.putFloat(x);
        return b.array();
    }

    /** Little-endian 16-bit patterns (F16, BF16, I16). */
    static byte[] u16(int... bits) {
        ByteBuffer b = le(bits.length * 2);
        for (int x : bits) b.putShort((short) x);
        return b.array();
    }

    static byte[] f64(double... v) {
        ByteBuffer b = le(v.length * 8);
        for (double x : v) b.putDouble(x);
        return b.array();
    }

    static byte[] i64(long... v) {
        ByteBuffer b = le(v.length * 8);
        for (long x : v) b.putLong(x);
        return b.array();
    }

    static byte[] i32(int... v) {
        ByteBuffer b = le(v.length * 4);
        for (int x : v) b.putInt(x);
        return b.array();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    /** One header entry as JSON. */
    static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }
}
