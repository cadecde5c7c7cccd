package dev.tav4j.runtime.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tav4j.bindings.cuda.CudaException;
import dev.tav4j.runtime.DeviceOutOfMemoryException;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The pool's bookkeeping and its out-of-memory path, over a fake device with a fixed capacity. */
class DevicePoolTest {
    /** A device of {@code capacity} bytes; addresses count up from 0x1000. */
    static class FakeDevice implements DevicePool.Allocator {
        final long capacity;
        final Map<Long, Long> blocks = new HashMap<>();
        long used, next = 0x1000, allocCalls, freeCalls, syncs;

        FakeDevice(long capacity) { this.capacity = capacity; }

        @Override public boolean isOutOfMemory(RuntimeException e) { return e instanceof CudaException c && c.isOutOfMemory(); }

        @Override public long alloc(long bytes) {
            allocCalls++;
            if (used + bytes > capacity)
                throw new CudaException("cuMemAlloc_v2(" + bytes + " bytes)", 2, "CUDA_ERROR_OUT_OF_MEMORY",
                        "cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory");
            long p = next;
            next += bytes;
            blocks.put(p, bytes);
            used += bytes;
            return p;
        }

        @Override public void free(long ptr) {
            freeCalls++;
            used -= blocks.remove(ptr);
        }

        @Override public void synchronize() { syncs++; }

        @Override public long freeBytes() { return capacity - used; }

        @Override public long totalBytes() { return capacity; }
    }

    @Test void roundsToPowersOfTwoThenTwoMebibyteMultiples() {
        assertEquals(512, DevicePool.roundUp(0));
        assertEquals(512, DevicePool.roundUp(512));
        assertEquals(1024, DevicePool.roundUp(513));
        assertEquals(1 << 20, DevicePool.roundUp((1 << 19) + 1));
        assertEquals(1 << 20, DevicePool.roundUp(1 << 20));
        assertEquals(2 << 20, DevicePool.roundUp((1 << 20) + 1));
        assertEquals(6 << 20, DevicePool.roundUp((4 << 20) + 1));
        assertThrows(IllegalArgumentException.class, () -> DevicePool.roundUp(-1));
    }

    @Test void steadyStateReusesBlocksWithoutDriverCalls() {
        FakeDevice dev = new FakeDevice(1L << 30);
        DevicePool pool = new DevicePool(dev);
        for (int step = 0; step < 5; step++) {
            long a = pool.take(3_000_000), b = pool.take(700), c = pool.take(3_000_000);
            assertNotEquals(a, c);
            pool.give(b);
            pool.give(a);
            pool.give(c);
        }
        assertEquals(3, dev.allocCalls, "only the first step allocates");
        assertEquals(2 * (4L << 20) + 1024, pool.reservedBytes());
        assertEquals(0, pool.inUseBytes());
        assertEquals(2 * (4L << 20) + 1024, pool.peakInUseBytes());
        assertThrows(IllegalArgumentException.class, () -> pool.give(0xdead));
    }

    @Test void trimReturnsCachedBlocksOnly() {
        FakeDevice dev = new FakeDevice(1L << 30);
        DevicePool pool = new DevicePool(dev);
        long kept = pool.take(4096);
        pool.give(pool.take(1 << 20));
        assertEquals(1 << 20, pool.trim());
        assertEquals(1, dev.syncs);
        assertEquals(4096, dev.used);
        assertEquals(4096, pool.reservedBytes());
        pool.give(kept);
        pool.close();
        assertEquals(0, dev.used);
    }

    @Test void outOfMemoryTrimsAndRetriesOnceThenSaysHowMuchWasAskedAndFree() {
        FakeDevice dev = new FakeDevice(64L << 20);
        DevicePool pool = new DevicePool(dev);
        pool.give(pool.take(40L << 20));         // cached, not in use
        long big = pool.take(50L << 20);          // fails, trims the cached 40 MiB, succeeds on retry
        assertEquals(50L << 20, pool.reservedBytes());
        assertEquals(3, dev.allocCalls);
        DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class, () -> pool.take(30L << 20));
        assertEquals(30L << 20, e.requestedBytes());
        assertEquals(14L << 20, e.freeBytes());
        assertEquals(64L << 20, e.totalBytes());
        assertTrue(e.getMessage().contains(DeviceOutOfMemoryException.ADVICE), e.getMessage());
        assertTrue(e.getMessage().contains("30.0 MiB"), e.getMessage());
        assertTrue(e.getMessage().startsWith("out of cuda device memory: asked for"), e.getMessage());
        assertTrue(e.getCause() instanceof CudaException c && c.isOutOfMemory(), "the driver's error is the cause");
        pool.give(big);
    }

    @Test void otherDriverErrorsPassThrough() {
        DevicePool pool = new DevicePool(new FakeDevice(0) {
            @Override public long alloc(long bytes) {
                throw new CudaException("cuMemAlloc_v2", 201, "CUDA_ERROR_INVALID_CONTEXT", "invalid context");
            }
        });
        CudaException e = assertThrows(CudaException.class, () -> pool.take(10));
        assertEquals(201, e.code());
    }
}
