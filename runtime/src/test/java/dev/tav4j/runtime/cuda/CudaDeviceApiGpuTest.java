package dev.tav4j.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tav4j.bindings.cuda.CudaException;
import dev.tav4j.runtime.DeviceOutOfMemoryException;
import dev.tav4j.runtime.device.DeviceApi;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("gpu")
class CudaDeviceApiGpuTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static CudaDeviceApi api;

    @BeforeAll static void open() {
        api = Gpu.open();
        System.out.println("device: " + api.describe());
    }

    @AfterAll static void close() {
        if (api != null) {
            System.out.println("pool at the end: " + api.pool());
            api.close();
        }
    }

    @Test void roundTripThroughTwoDeviceBuffers() {
        int n = 1_000_003;
        long bytes = 4L * n;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocate(bytes), dst = a.allocate(bytes);
            Random rnd = new Random(1);
            for (int i = 0; i < n; i++) src.setAtIndex(F, i, rnd.nextFloat());
            long d1 = api.alloc(bytes), d2 = api.alloc(bytes);
            api.copyToDevice(src, d1, bytes);
            api.copyDeviceToDevice(d1, d2, bytes);
            api.copyToHost(d2, dst, bytes);
            assertEquals(-1, src.mismatch(dst), "bytes differ after host → device → device → host");
            api.free(d1);
            api.free(d2);
        }
        long big = 256L << 20;
        try (Arena a = Arena.ofConfined(); EventTimer t = api.timer()) {
            MemorySegment h = a.allocate(big);
            long d = api.alloc(big), d2 = api.alloc(big);
            api.copyToDevice(h, d, big);
            float up = t.time(() -> api.copyToDevice(h, d, big));
            float dd = t.time(() -> api.copyDeviceToDevice(d, d2, big));
            long t0 = System.nanoTime();
            api.copyToHost(d, h, big);
            double down = (System.nanoTime() - t0) / 1e6;
            Gpu.measure("copy host->device 256 MiB (pageable)", String.format("%.2f ms, %.1f GB/s", up, big / up / 1e6));
            Gpu.measure("copy device->host 256 MiB (pageable, wall)", String.format("%.2f ms, %.1f GB/s", down, big / down / 1e6));
            Gpu.measure("copy device->device 256 MiB", String.format("%.3f ms, %.0f GB/s read+write", dd, 2.0 * big / dd / 1e6));
            api.free(d);
            api.free(d2);
        }
    }

    @Test void memsetSetsExactlyTheRange() {
        try (Arena a = Arena.ofConfined()) {
            long d = api.alloc(1000);
            api.memset(d, 0x3C, 1000);
            api.memset(d + 100, 0xA5, 100);
            MemorySegment h = a.allocate(1000);
            api.copyToHost(d, h, 1000);
            for (int i = 0; i < 1000; i++)
                assertEquals((byte) (i >= 100 && i < 200 ? 0xA5 : 0x3C), h.get(ValueLayout.JAVA_BYTE, i), "byte " + i);
            api.free(d);
        }
    }

    @Test void poolReusesFreedBlocks() {
        long p = api.alloc(5_123_456);
        api.free(p);
        long allocs = api.pool().driverAllocations();
        long q = api.alloc(5_000_000);                 // same rounded size (6 MiB)
        assertEquals(p, q, "a freed block of the same rounded size is handed out again");
        assertEquals(allocs, api.pool().driverAllocations(), "no cuMemAlloc for a cached size");
        api.free(q);
        assertTrue(api.pool().peakReservedBytes() >= 6L << 20);
        long trimmed = api.pool().trim();
        assertTrue(trimmed >= 6L << 20, "trim gave back " + trimmed);
    }

    @Test void eventsTimeGpuWork() {
        long bytes = 1L << 30;
        long d = api.alloc(bytes);
        try (EventTimer t = api.timer()) {
            api.memset(d, 0, bytes);
            float ms = t.time(() -> api.memset(d, 1, bytes));
            assertTrue(ms > 0 && ms < 10_000, "memset of 1 GiB took " + ms + " ms");
            Gpu.measure("memset 1 GiB", String.format("%.3f ms, %.0f GB/s", ms, bytes / ms / 1e6));
        } finally {
            api.free(d);
        }
    }

    @Test void kernelLaunchAndDynamicSharedMemoryOptIn() {
        int n = 100_003;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = a.allocate(4L * n);
            for (int i = 0; i < n; i++) h.setAtIndex(F, i, i);
            long d = api.alloc(4L * n);
            api.copyToDevice(h, d, 4L * n);
            DeviceApi.KernelHandle axpb = api.kernel("tav_test_axpb");
            api.launch(axpb, (n + 255) / 256, 1, 1, 256, 1, 1, 0, Gpu.params(a, d, 2f, 1f, n));
            api.copyToHost(d, h, 4L * n);
            for (int i = 0; i < n; i++) assertEquals(2f * i + 1f, h.getAtIndex(F, i), "x[" + i + "]");

            int m = 20_000;                              // 80,000 bytes of shared memory: needs the opt-in
            long out = api.alloc(4L * m);
            api.launch(api.kernel("tav_test_reverse_smem"), 1, 1, 1, 1024, 1, 1, 4 * m, Gpu.params(a, d, out, m));
            MemorySegment r = a.allocate(4L * m);
            api.copyToHost(out, r, 4L * m);
            for (int i = 0; i < m; i++) assertEquals(2f * (m - 1 - i) + 1f, r.getAtIndex(F, i), "reversed[" + i + "]");
            api.free(d);
            api.free(out);
        }
        CudaException e = assertThrows(CudaException.class, () -> api.kernel("tav_no_such_kernel"));
        assertTrue(e.getMessage().contains("cuModuleGetFunction(tav_no_such_kernel)"), e.getMessage());
    }

    @Test void graphCaptureReplaysWithoutRunningDuringCapture() {
        int n = 4096, launches = 100;
        try (Arena a = Arena.ofConfined(); EventTimer t = api.timer()) {
            MemorySegment h = a.allocate(4L * n);
            long d = api.alloc(4L * n);
            api.memset(d, 0, 4L * n);
            DeviceApi.KernelHandle k = api.kernel("tav_test_axpb");
            MemorySegment step = Gpu.params(a, d, 2f, 1f, n);
            try (CudaGraph g = api.capture(() -> api.launch(k, n / 256, 1, 1, 256, 1, 1, 0, step))) {
                api.copyToHost(d, h, 4L * n);
                assertEquals(0f, h.getAtIndex(F, 7), "captured work must not run during capture");
                for (int i = 0; i < 3; i++) g.launch(api.stream());
                api.copyToHost(d, h, 4L * n);
                for (int i = 0; i < n; i++) assertEquals(7f, h.getAtIndex(F, i), "x[" + i + "] after 3 replays of x=2x+1");
            }
            MemorySegment same = Gpu.params(a, d, 1f, 0f, n);
            for (int i = 0; i < 10; i++) api.launch(k, n / 256, 1, 1, 256, 1, 1, 0, same);
            float direct = t.time(() -> { for (int i = 0; i < launches; i++) api.launch(k, n / 256, 1, 1, 256, 1, 1, 0, same); });
            try (CudaGraph g = api.capture(() -> { for (int i = 0; i < launches; i++) api.launch(k, n / 256, 1, 1, 256, 1, 1, 0, same); })) {
                g.launch(api.stream());
                float graph = t.time(() -> g.launch(api.stream()));
                Gpu.measure("100 small kernel launches, direct", String.format("%.1f us per kernel", direct * 1000 / launches));
                Gpu.measure("100 small kernel launches, one CUDA graph", String.format("%.1f us per kernel", graph * 1000 / launches));
            }
            api.free(d);
        }
    }

    @Test void askingForATerabyteIsACleanException() {
        DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class, () -> api.alloc(1L << 40));
        assertEquals(1L << 40, e.requestedBytes());
        assertTrue(e.totalBytes() > 0 && e.freeBytes() > 0, e.getMessage());
        assertTrue(e.getMessage().contains(DeviceOutOfMemoryException.ADVICE), e.getMessage());
        System.out.println("1 TiB request: " + e.getMessage());
        long p = api.alloc(1 << 20);                    // the context still works
        api.memset(p, 0, 1 << 20);
        api.synchronize();
        api.free(p);
    }

    @Test void badPtxFailsWithTheJitLog() {
        String bad = ".version 8.0\n.target sm_80\n.address_size 64\n.visible .entry tav_bad()\n{\n  mov.u32 %r1, 1;\n  ret;\n}\n";
        CudaException e = assertThrows(CudaException.class,
                () -> new CudaDeviceApi(0, bad.getBytes(StandardCharsets.US_ASCII), "bad.ptx", false).close());
        System.out.println("bad PTX: " + e.getMessage());
        assertTrue(e.getMessage().startsWith("cuModuleLoadDataEx(bad.ptx) failed: CUDA_ERROR_"), e.getMessage());
        String log = e.getMessage().substring(e.getMessage().indexOf("JIT error log:"));
        assertTrue(log.contains("error") && log.contains("%r1"), "the JIT log names the problem: " + log);
        long p = api.alloc(4096);                        // the shared primary context survived the failed open
        api.free(p);
    }

    @Test void deviceStorageGivesItsBlockBack() {
        DeviceStorage s = DeviceStorage.allocate(api, 3000);
        long inUse = api.pool().inUseBytes();
        long p = s.pointer();
        s.release();
        s.release();
        assertEquals(inUse - 4096, api.pool().inUseBytes());
        assertThrows(IllegalStateException.class, s::pointer);
        long q = api.alloc(3000);
        assertEquals(p, q, "the block is reused");
        api.free(q);
    }
}
