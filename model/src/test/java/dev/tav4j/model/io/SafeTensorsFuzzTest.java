package dev.tav4j.model.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tav4j.model.fuzz.Fuzzing;
import dev.tav4j.runtime.Tensor;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * Fuzzes {@link SafeTensors#open} on arbitrary file contents and then reads every tensor every way the engine
 * does. Contract: a bad file fails with {@link SafeTensorsException} naming the file, at open or at the read;
 * a file that opens reads back tensors of the declared size; a tiny file never allocates much (the data must be
 * in the file, so a tensor's size is bounded by the file's). Seeds: {@code SafeTensorsFuzzTestInputs/openAndRead}.
 */
class SafeTensorsFuzzTest {
    /** Well above what reading a seed-sized file needs (a few KB of tensors, Jackson's buffers). */
    private static final long HEAP_LIMIT = 64L << 20;

    @FuzzTest
    void openAndRead(byte[] data) {
        Path file = Fuzzing.file("fuzz.safetensors", data);
        long before = Fuzzing.allocated();
        try (SafeTensors st = SafeTensors.open(file)) {
            st.metadata();
            for (String name : st.names()) readAllWays(st, name, file);
        } catch (SafeTensorsException e) {
            Fuzzing.requireNamesFile(e, file);
        }
        Fuzzing.requireAllocatedBelow(before, HEAP_LIMIT + 64L * data.length, "reading a " + data.length + "-byte file");
    }

    private static void readAllWays(SafeTensors st, String name, Path file) {
        SafeTensors.TensorInfo info = st.info(name);
        MemorySegment raw = st.bytes(name);
        if (raw.byteSize() != info.end() - info.begin())
            throw new AssertionError(name + ": " + raw.byteSize() + " bytes for " + info);
        try (Tensor t = st.loadF32(name)) {
            requireSize(t, info);
        } catch (SafeTensorsException e) {
            Fuzzing.requireNamesFile(e, file);
        }
        try (Tensor t = st.mapF32(name)) {
            requireSize(t, info);
        } catch (SafeTensorsException e) {
            Fuzzing.requireNamesFile(e, file);
        }
        try {
            long[] v = st.loadLongs(name);
            if (v.length != info.elements()) throw new AssertionError(name + ": " + v.length + " longs for " + info);
        } catch (SafeTensorsException e) {
            Fuzzing.requireNamesFile(e, file);
        }
    }

    private static void requireSize(Tensor t, SafeTensors.TensorInfo info) {
        if (t.size() != info.elements()) throw new AssertionError(info + " read as a tensor of " + t.size() + " values");
    }
}
