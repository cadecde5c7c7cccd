package dev.tav4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** The pool every CPU kernel splits its work over: each index once, nested and concurrent calls, failures. */
class ParallelTest {
    @Test
    void everyIndexRunsExactlyOnceWhateverTheGrain() {
        for (int n : new int[] {1, 2, 7, 64, 1000, 12345}) {
            for (int grain : new int[] {1, 3, 100, 100_000}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                for (int round = 0; round < 50; round++) Parallel.forRange(n, grain, (lo, hi) -> {
                    assertTrue(0 <= lo && lo < hi && hi <= n, lo + ".." + hi);
                    for (int i = lo; i < hi; i++) hits.incrementAndGet(i);
                });
                for (int i = 0; i < n; i++) assertEquals(50, hits.get(i), "index " + i + " of " + n + ", grain " + grain);
            }
        }
    }

    @Test
    void theWorkIsSharedBetweenThreadsWhenThereAreSeveral() throws InterruptedException {
        org.junit.jupiter.api.Assumptions.assumeTrue(Parallel.THREADS >= 2, "one core: every call runs on its caller");
        Set<Thread> seen = ConcurrentHashMap.newKeySet();
        // chunks that wait for each other can only finish if two threads run them at once
        CountDownLatch both = new CountDownLatch(2);
        Parallel.forRange(2, 1, (lo, hi) -> {
            seen.add(Thread.currentThread());
            both.countDown();
            try {
                assertTrue(both.await(10, TimeUnit.SECONDS), "the second chunk never started beside the first");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertEquals(2, seen.size());
    }

    @Test
    void aNestedCallRunsInlineOnTheThreadThatMakesIt() {
        AtomicIntegerArray hits = new AtomicIntegerArray(64 * 16);
        Parallel.forRange(64, 1, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                int row = i;
                Thread outer = Thread.currentThread();
                Parallel.forRange(16, 1, (a, b) -> {
                    assertSame(outer, Thread.currentThread());
                    for (int j = a; j < b; j++) hits.incrementAndGet(row * 16 + j);
                });
            }
        });
        for (int i = 0; i < hits.length(); i++) assertEquals(1, hits.get(i), "index " + i);
    }

    @Test
    void callsFromSeveralThreadsAtOnceEachCompleteInFull() throws InterruptedException {
        int callers = 4, n = 5000;
        AtomicIntegerArray[] hits = new AtomicIntegerArray[callers];
        Thread[] threads = new Thread[callers];
        for (int t = 0; t < callers; t++) {
            AtomicIntegerArray h = hits[t] = new AtomicIntegerArray(n);
            threads[t] = new Thread(() -> {
                for (int round = 0; round < 200; round++)
                    Parallel.forRange(n, 16, (lo, hi) -> { for (int i = lo; i < hi; i++) h.incrementAndGet(i); });
            });
            threads[t].start();
        }
        for (Thread t : threads) t.join(60_000);
        for (int t = 0; t < callers; t++)
            for (int i = 0; i < n; i++) assertEquals(200, hits[t].get(i), "caller " + t + ", index " + i);
    }

    @Test
    void aFailingChunkFailsTheCallAfterEveryChunkHasStopped() {
        IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, () -> Parallel.forRange(100, 1, (lo, hi) -> {
            if (lo <= 50 && 50 < hi) throw new IllegalArgumentException("chunk with 50");
        }));
        assertEquals("chunk with 50", thrown.getMessage());
        // the pool is free again: a following call runs in full
        AtomicIntegerArray hits = new AtomicIntegerArray(100);
        Parallel.forRange(100, 1, (lo, hi) -> { for (int i = lo; i < hi; i++) hits.incrementAndGet(i); });
        for (int i = 0; i < 100; i++) assertEquals(1, hits.get(i));
    }
}
