package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.device.DeviceApi;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link DeviceApi} that passes everything to another one and records the names of the kernels launched, so a
 * test can tell which kernel really ran (e.g. the tensor-core kernel, not its fallback). Closing it leaves the
 * wrapped device open.
 */
final class LaunchRecorder implements DeviceApi {
    private final DeviceApi d;
    private final List<String> launched = new ArrayList<>();
    private int maxShared;  // 0: the wrapped device's limit

    /** Pretends the device allows at most {@code bytes} of dynamic shared memory per block (a smaller GPU). */
    LaunchRecorder sharedLimit(int bytes) {
        maxShared = bytes;
        return this;
    }

    LaunchRecorder(DeviceApi device) {
        this.d = device;
    }

    /** The kernels launched since the last call, in order; clears the record. */
    List<String> take() {
        List<String> out = List.copyOf(launched);
        launched.clear();
        return out;
    }

    @Override public void launch(KernelHandle k, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                                 int sharedBytes, MemorySegment kernelParams) {
        launched.add(k.name());
        d.launch(k, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes, kernelParams);
    }

    @Override public String describe() { return d.describe(); }
    @Override public boolean emulated() { return d.emulated(); }
    @Override public int maxSharedBytesPerBlock() { return maxShared > 0 ? maxShared : d.maxSharedBytesPerBlock(); }
    @Override public long alloc(long bytes) { return d.alloc(bytes); }
    @Override public void free(long ptr) { d.free(ptr); }
    @Override public void copyToDevice(MemorySegment src, long dst, long bytes) { d.copyToDevice(src, dst, bytes); }
    @Override public void copyToHost(long src, MemorySegment dst, long bytes) { d.copyToHost(src, dst, bytes); }
    @Override public void copyDeviceToDevice(long src, long dst, long bytes) { d.copyDeviceToDevice(src, dst, bytes); }
    @Override public void memset(long ptr, int byteValue, long bytes) { d.memset(ptr, byteValue, bytes); }
    @Override public KernelHandle kernel(String name) { return d.kernel(name); }

    @Override public void gemm(GemmType dtype, boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda,
                               long strideA, long b, int ldb, long strideB, float beta, long c, int ldc, long strideC, int batch) {
        d.gemm(dtype, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch);
    }

    @Override public void gemm(GemmType abType, GemmType cType, boolean transA, boolean transB, int m, int n, int k, float alpha,
                               long a, int lda, long strideA, long b, int ldb, long strideB, float beta, long c, int ldc,
                               long strideC, int batch) {
        d.gemm(abType, cType, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch);
    }

    @Override public void synchronize() { d.synchronize(); }
    @Override public long freeBytes() { return d.freeBytes(); }
    @Override public long totalBytes() { return d.totalBytes(); }
    @Override public long eventCreate() { return d.eventCreate(); }
    @Override public void eventRecord(long event) { d.eventRecord(event); }
    @Override public float eventElapsedMillis(long start, long end) { return d.eventElapsedMillis(start, end); }
    @Override public void eventDestroy(long event) { d.eventDestroy(event); }
    @Override public void close() {}
}
