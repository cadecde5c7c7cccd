package dev.tav4j.runtime.device;

/** Byte counts for people: "1.5 GiB". */
public final class Bytes {
    private Bytes() {}

    public static String human(long bytes) {
        if (bytes < 0) return "? bytes";
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
        return u == 0 ? bytes + " B" : String.format("%.1f %s", v, units[u]);
    }
}
