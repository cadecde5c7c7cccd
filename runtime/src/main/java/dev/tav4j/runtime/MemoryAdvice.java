package dev.tav4j.runtime;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Linux {@code madvise} hints for large host memory. Loading a real-size checkpoint took about 1.3 million page
 * faults, one per 4 KiB touched, most of its time being system time on a virtual machine; populating a range in one
 * call takes 40 % of them away. (Transparent huge pages were tried and dropped: on that machine asking for them made
 * a fresh gigabyte take seconds of compaction.) Every method is a hint: on another system, an older kernel or any
 * error it does nothing.
 */
public final class MemoryAdvice {
    private static final int MADV_POPULATE_READ = 22, MADV_POPULATE_WRITE = 23;
    private static final long PAGE = 4096;
    private static final MethodHandle MADVISE;

    static {
        MethodHandle h = null;
        // the advice values are Linux's: /proc/sys/kernel/osrelease exists on Linux only (a platform fact, not a setting)
        if (java.nio.file.Files.isReadable(java.nio.file.Path.of("/proc/sys/kernel/osrelease"))) {
            try {
                Linker linker = Linker.nativeLinker();
                h = linker.defaultLookup().find("madvise").map(a -> linker.downcallHandle(a,
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT))).orElse(null);
            } catch (RuntimeException | LinkageError e) {
                h = null;
            }
        }
        MADVISE = h;
    }

    private MemoryAdvice() {}

    /** Maps the pages of a (file-backed) range that are already in the page cache, in one call instead of a fault per page. */
    public static void populateRead(MemorySegment s) { advise(s, MADV_POPULATE_READ); }

    /** Allocates and maps the pages of a fresh writable range in one call. */
    static void populateWrite(MemorySegment s) { advise(s, MADV_POPULATE_WRITE); }

    /** Applies {@code advice} to the whole pages inside {@code s}. */
    private static void advise(MemorySegment s, int advice) {
        if (MADVISE == null || s.byteSize() < PAGE) return;
        long start = (s.address() + PAGE - 1) & -PAGE, end = (s.address() + s.byteSize()) & -PAGE;
        if (end <= start) return;
        try {
            int ignored = (int) MADVISE.invokeExact(MemorySegment.ofAddress(start), end - start, advice);
        } catch (Throwable t) {
            // a hint: failures (EINVAL on kernels before 5.14, say) change nothing but speed
        }
    }
}
