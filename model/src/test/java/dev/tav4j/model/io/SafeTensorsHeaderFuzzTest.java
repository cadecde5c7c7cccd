package dev.tav4j.model.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tav4j.model.fuzz.Fuzzing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Fuzzes the header parser alone (no file I/O, so many more executions per second than {@link SafeTensorsFuzzTest}):
 * arbitrary bytes as the JSON header, against a small and an enormous data area. Contract: a
 * {@link SafeTensorsException} naming the file, or a header whose every entry is consistent: the byte range holds
 * exactly shape × dtype size, lies inside the data area, and no two ranges overlap.
 * Seeds: {@code SafeTensorsHeaderFuzzTestInputs/parse} (plain JSON headers).
 */
class SafeTensorsHeaderFuzzTest {
    private static final Path FILE = Path.of("/fuzz/header.safetensors");

    @FuzzTest
    void parse(byte[] json) {
        parse(json, 4096);
        parse(json, Long.MAX_VALUE - 8);
    }

    private static void parse(byte[] json, long dataBytes) {
        SafeTensorsHeader h;
        try {
            h = SafeTensorsHeader.parse(FILE, json, dataBytes);
        } catch (SafeTensorsException e) {
            Fuzzing.requireNamesFile(e, FILE);
            return;
        }
        List<SafeTensors.TensorInfo> ranges = new ArrayList<>();
        for (SafeTensors.TensorInfo t : h.tensors.values()) {
            long bytes = Math.multiplyExact(t.elements(), StDType.valueOf(t.dtype()).bytes);
            if (t.begin() < 0 || t.end() - t.begin() != bytes || t.end() > dataBytes)
                throw new AssertionError("accepted an inconsistent entry " + t + " for a data area of " + dataBytes);
            if (t.end() > t.begin()) ranges.add(t);
        }
        ranges.sort(Comparator.comparingLong(SafeTensors.TensorInfo::begin));
        for (int i = 1; i < ranges.size(); i++)
            if (ranges.get(i).begin() < ranges.get(i - 1).end())
                throw new AssertionError("accepted overlapping " + ranges.get(i - 1) + " and " + ranges.get(i));
    }
}
