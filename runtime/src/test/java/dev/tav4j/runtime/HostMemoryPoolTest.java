package dev.tav4j.runtime;

import org.junit.jupiter.api.Test;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.*;

/** Tensor memory lives outside the JVM's direct-memory limit, and a request the machine cannot hold is refused cleanly. */
class HostMemoryPoolTest {
    private static long directBytes() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
    }

    @Test
    void tensorsDoNotCountAgainstMaxDirectMemorySize() {
        assertTrue(NativeHeap.isNative(), "aligned_alloc should be found on this platform (" + System.getProperty("os.name") + ")");
        long before = directBytes();
        try (Tensor t = Tensor.host(64, 1024, 1024)) {  // 256 MiB
            t.set(t.size() - 1, 3f);
            assertEquals(3f, t.get(t.size() - 1));
            assertEquals(0, t.segment().address() % 64, "64-byte aligned");
            assertTrue(directBytes() - before < (1 << 20), "the JVM's direct-memory counter grew by " + (directBytes() - before));
            assertTrue(NativeHeap.allocatedBytes() >= 256L << 20);
        }
    }

    @Test
    void aRequestBeyondTheMachineIsRefusedWithTheNumbers() {
        long tooMuch = HostMemory.totalBytes() * 4;
        HostOutOfMemoryException e = assertThrows(HostOutOfMemoryException.class, () -> new HostMemoryPool(0).take(tooMuch));
        assertTrue(e.getMessage().contains("does not fit") && e.getMessage().contains("available"), e.getMessage());
    }

    @Test
    void machineFacts() {
        assertTrue(HostMemory.totalBytes() > 0);
        long avail = HostMemory.availableBytes();
        assertTrue(avail > 0 && avail <= HostMemory.totalBytes(), "available " + avail);
        if (System.getProperty("os.name").startsWith("Linux")) {
            assertTrue(HostMemory.peakRssBytes() >= HostMemory.rssBytes() && HostMemory.rssBytes() > 0);
        }
        assertEquals("1.5 GiB", HostMemory.format(3L << 29));
        assertEquals("12 MiB", HostMemory.format(12L << 20));
    }
}
