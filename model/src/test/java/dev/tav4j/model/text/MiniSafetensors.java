package dev.tav4j.model.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test utility only: reads one I64 tensor from a .safetensors file (8-byte little-endian header length,
 * JSON header, then data), so the tokenizer tests need not wait for the project's reader.
 */
final class MiniSafetensors {
    record I64Tensor(long[] shape, long[] data) {}

    private MiniSafetensors() {}

    static I64Tensor readI64(Path file, String name) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length < 8) throw new IOException(file + ": shorter than the 8-byte header length");
        long headerLen = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLen <= 0 || 8 + headerLen > bytes.length) throw new IOException(file + ": bad header length " + headerLen);
        JsonNode header = new ObjectMapper().readTree(new String(bytes, 8, (int) headerLen, java.nio.charset.StandardCharsets.UTF_8));
        JsonNode t = header.get(name);
        if (t == null) throw new IOException(file + ": no tensor '" + name + "'");
        if (!"I64".equals(t.path("dtype").asText())) throw new IOException(file + ": tensor '" + name + "' is " + t.path("dtype") + ", not I64");
        JsonNode shapeNode = t.get("shape");
        long[] shape = new long[shapeNode.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong();
            count *= shape[i];
        }
        long begin = t.get("data_offsets").get(0).asLong(), end = t.get("data_offsets").get(1).asLong();
        long base = 8 + headerLen;
        if (end - begin != count * 8 || base + end > bytes.length) {
            throw new IOException(file + ": tensor '" + name + "' offsets [" + begin + ", " + end + ") do not fit shape/file");
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes, (int) (base + begin), (int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
        long[] data = new long[(int) count];
        for (int i = 0; i < data.length; i++) data[i] = buf.getLong();
        return new I64Tensor(shape, data);
    }
}
