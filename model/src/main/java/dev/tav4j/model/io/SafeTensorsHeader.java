package dev.tav4j.model.io;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Parses and validates the JSON header of a safetensors file against the size of its data area. */
final class SafeTensorsHeader {
    /** The reference implementation refuses headers over 100 MB; so do we (a real header is a few hundred KB). */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final ObjectMapper STRICT = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    final Map<String, SafeTensors.TensorInfo> tensors;
    final Map<String, String> metadata;

    private SafeTensorsHeader(Map<String, SafeTensors.TensorInfo> tensors, Map<String, String> metadata) {
        this.tensors = tensors;
        this.metadata = metadata;
    }

    static SafeTensorsHeader parse(Path file, byte[] json, long dataBytes) {
        JsonNode root;
        try {
            root = STRICT.readTree(json);
        } catch (IOException e) {
            throw new SafeTensorsException(file + ": header is not valid JSON: " + firstLine(e.getMessage()), e);
        }
        if (root == null || !root.isObject())
            throw new SafeTensorsException(file + ": header is not a JSON object (found "
                    + (root == null ? "nothing" : root.getNodeType().toString().toLowerCase()) + ")");
        Map<String, SafeTensors.TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = Map.of();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            if (e.getKey().equals("__metadata__")) metadata = metadata(file, e.getValue());
            else tensors.put(e.getKey(), entry(file, e.getKey(), e.getValue(), dataBytes));
        }
        checkOverlaps(file, tensors.values());
        return new SafeTensorsHeader(Collections.unmodifiableMap(tensors), metadata);
    }

    private static Map<String, String> metadata(Path file, JsonNode n) {
        if (n.isNull()) return Map.of();
        if (!n.isObject()) throw new SafeTensorsException(file + ": __metadata__ is not a JSON object of strings");
        Map<String, String> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : n.properties()) {
            if (!e.getValue().isTextual())
                throw new SafeTensorsException(file + ": __metadata__ value of '" + e.getKey() + "' is not a string");
            m.put(e.getKey(), e.getValue().asText());
        }
        return Collections.unmodifiableMap(m);
    }

    private static SafeTensors.TensorInfo entry(Path file, String name, JsonNode n, long dataBytes) {
        String where = file + ": tensor '" + name + "'";
        if (!n.isObject()) throw new SafeTensorsException(where + ": entry is not a JSON object");
        JsonNode dt = n.get("dtype"), sh = n.get("shape"), off = n.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw new SafeTensorsException(where + ": missing or non-string 'dtype'");
        if (sh == null || !sh.isArray()) throw new SafeTensorsException(where + ": missing or non-list 'shape'");
        if (off == null || !off.isArray()) throw new SafeTensorsException(where + ": missing or non-list 'data_offsets'");
        StDType dtype = StDType.parse(dt.asText());
        if (dtype == null)
            throw new SafeTensorsException(where + ": unknown dtype '" + dt.asText() + "' (known: " + StDType.known() + ")");
        long[] shape = new long[sh.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong())
                throw new SafeTensorsException(where + ": shape " + sh + " has a non-integer dimension");
            shape[i] = d.asLong();
            if (shape[i] < 0) throw new SafeTensorsException(where + ": shape " + sh + " has a negative dimension");
            try {
                elements = Math.multiplyExact(elements, shape[i]);
            } catch (ArithmeticException overflow) {
                throw new SafeTensorsException(where + ": shape " + sh + " has too many elements");
            }
        }
        if (off.size() != 2 || !off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber()
                || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong())
            throw new SafeTensorsException(where + ": data_offsets " + off + " is not [begin, end]");
        long begin = off.get(0).asLong(), end = off.get(1).asLong();
        if (begin < 0 || begin > end)
            throw new SafeTensorsException(where + ": data_offsets " + off + " is not [begin, end] with 0 <= begin <= end");
        if (end > dataBytes)
            throw new SafeTensorsException(where + ": data_offsets " + off + " end beyond the data area ("
                    + dataBytes + " bytes after the header); the file is truncated or the offsets are wrong");
        long need;
        try {
            need = Math.multiplyExact(elements, dtype.bytes);
        } catch (ArithmeticException overflow) {
            throw new SafeTensorsException(where + ": shape " + sh + " is too large");
        }
        if (end - begin != need)
            throw new SafeTensorsException(where + ": data_offsets " + off + " hold " + (end - begin) + " bytes but shape "
                    + Arrays.toString(shape) + " of " + dtype + " needs " + need);
        return new SafeTensors.TensorInfo(name, dtype.name(), shape, begin, end);
    }

    private static void checkOverlaps(Path file, Iterable<SafeTensors.TensorInfo> infos) {
        List<SafeTensors.TensorInfo> sorted = new ArrayList<>();
        for (SafeTensors.TensorInfo t : infos) if (t.end() > t.begin()) sorted.add(t);
        sorted.sort(Comparator.comparingLong(SafeTensors.TensorInfo::begin));
        for (int i = 1; i < sorted.size(); i++) {
            SafeTensors.TensorInfo a = sorted.get(i - 1), b = sorted.get(i);
            if (b.begin() < a.end())
                throw new SafeTensorsException(file + ": tensors '" + a.name() + "' [" + a.begin() + ", " + a.end()
                        + ") and '" + b.name() + "' [" + b.begin() + ", " + b.end() + ") overlap");
        }
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
