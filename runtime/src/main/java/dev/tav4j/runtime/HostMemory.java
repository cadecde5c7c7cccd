package dev.tav4j.runtime;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Facts about the machine's memory and this process's use of it (Linux /proc where it exists, the JVM elsewhere). */
public final class HostMemory {
    private HostMemory() {}

    /** Physical memory of the machine, in bytes. */
    public static long totalBytes() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os)
            return os.getTotalMemorySize();
        return Runtime.getRuntime().maxMemory();
    }

    /**
     * Memory a new allocation can still get without swapping or the kernel's OOM killer: MemAvailable of
     * /proc/meminfo (free memory plus reclaimable page cache), or less inside a container whose cgroup (v2) limits
     * memory, else what the JVM reports free.
     */
    public static long availableBytes() {
        long kib = procField(Path.of("/proc/meminfo"), "MemAvailable:");
        if (kib >= 0) return Math.min(kib * 1024, cgroupHeadroom());
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os)
            return os.getFreeMemorySize();
        return Runtime.getRuntime().freeMemory();
    }

    /** Peak resident set size of this process (VmHWM), or -1 where the system does not report it. */
    public static long peakRssBytes() {
        long kib = procField(Path.of("/proc/self/status"), "VmHWM:");
        return kib < 0 ? -1 : kib * 1024;
    }

    /** Current resident set size of this process (VmRSS), or -1 where the system does not report it. */
    public static long rssBytes() {
        long kib = procField(Path.of("/proc/self/status"), "VmRSS:");
        return kib < 0 ? -1 : kib * 1024;
    }

    /** Bytes as MiB or GiB with one decimal, for messages. */
    public static String format(long bytes) {
        double mib = bytes / (double) (1L << 20);
        return mib >= 1024 ? String.format(Locale.ROOT, "%.1f GiB", mib / 1024) : String.format(Locale.ROOT, "%.0f MiB", mib);
    }

    /**
     * memory.max − memory.current + the page cache it holds (reclaimable under the limit) of this process's cgroup
     * (v2), or Long.MAX_VALUE where there is no limit.
     */
    private static long cgroupHeadroom() {
        try {
            Path cg = Path.of("/sys/fs/cgroup");
            Path max = cg.resolve("memory.max"), current = cg.resolve("memory.current"), stat = cg.resolve("memory.stat");
            if (!Files.isReadable(max) || !Files.isReadable(current)) return Long.MAX_VALUE;
            String m = Files.readString(max).strip();
            if (m.equals("max")) return Long.MAX_VALUE;
            long file = 0;
            if (Files.isReadable(stat))
                for (String line : Files.readAllLines(stat))
                    if (line.startsWith("file ")) file = Long.parseLong(line.substring(5).strip());
            return Math.max(0, Long.parseLong(m) - Long.parseLong(Files.readString(current).strip()) + file);
        } catch (IOException | NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    /** The kB value of a "Name:   123 kB" line, or -1. */
    private static long procField(Path file, String field) {
        if (!Files.isReadable(file)) return -1;
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(field)) {
                    String v = line.substring(field.length()).trim();
                    int sp = v.indexOf(' ');
                    return Long.parseLong(sp < 0 ? v : v.substring(0, sp));
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
