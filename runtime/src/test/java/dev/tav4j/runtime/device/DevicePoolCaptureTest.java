package dev.tav4j.runtime.device;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pool during a step capture, over the fake device of DevicePoolTest. */
class DevicePoolCaptureTest {
    @Test void aCapturedStepReusesCachedBlocksAndKeepsThemUntilTheGraphCloses() {
        DevicePoolTest.FakeDevice dev = new DevicePoolTest.FakeDevice(64L << 20);
        DevicePool pool = new DevicePool(dev);
        long weights = pool.take(4096);
        // the eager step: two workspaces, freed at the end
        long a = pool.take(10_000), b = pool.take(20_000);
        pool.give(a);
        pool.give(b);
        long allocs = dev.allocCalls;
        pool.beginCapture();
        long a2 = pool.take(10_000);
        pool.give(a2);
        long a3 = pool.take(10_000);  // reused inside the capture, as the replay will
        long b2 = pool.take(20_000);
        pool.give(a3);
        pool.give(b2);
        DevicePool.Reservation r = pool.endCapture();
        assertEquals(allocs, dev.allocCalls, "no driver allocation while capturing");
        assertEquals(2, r.blocks());
        assertEquals(16384 + 32768, r.bytes());
        assertEquals(4096 + r.bytes(), pool.inUseBytes(), "reserved blocks count as in use");
        pool.checkConsistent();
        long other = pool.take(10_000);  // someone outside the step: must not get the graph's block
        assertNotEquals(a3, other);
        pool.give(other);
        r.close();
        assertEquals(4096, pool.inUseBytes());
        assertEquals(a3, pool.take(10_000), "the graph's block is cached again after close");
        pool.checkConsistent();
        pool.give(weights);
    }

    @Test void freshMemoryInsideACaptureIsRefusedWithWhatToDo() {
        DevicePool pool = new DevicePool(new DevicePoolTest.FakeDevice(64L << 20));
        pool.beginCapture();
        StepCaptureException e = assertThrows(StepCaptureException.class, () -> pool.take(3 << 20));
        assertTrue(e.getMessage().contains("3.0 MiB") && e.getMessage().contains("uncaptured"), e.getMessage());
        assertThrows(StepCaptureException.class, pool::trim);
        pool.abortCapture();
        assertFalse(pool.capturing());
        pool.give(pool.take(3 << 20));  // fine outside a capture
        pool.checkConsistent();
    }

    @Test void aBlockAllocatedInsideAndKeptIsRefusedAtTheEnd() {
        DevicePool pool = new DevicePool(new DevicePoolTest.FakeDevice(64L << 20));
        pool.give(pool.take(1000));
        pool.beginCapture();
        long kept = pool.take(1000);
        StepCaptureException e = assertThrows(StepCaptureException.class, pool::endCapture);
        assertTrue(e.getMessage().contains("kept 1 device block"), e.getMessage());
        pool.abortCapture();
        pool.give(kept);
        assertEquals(0, pool.inUseBytes());
        pool.checkConsistent();
    }
}
