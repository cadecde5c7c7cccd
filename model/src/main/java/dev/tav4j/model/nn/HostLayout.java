package dev.tav4j.model.nn;

import dev.tav4j.runtime.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** One-time host repacking of weights at load (not a hot path). */
public final class HostLayout {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private HostLayout() {}

    /** [rows, cols] → new [cols, rows]. */
    public static Tensor transpose(Tensor w, int rows, int cols) {
        Tensor out = Tensor.host(cols, rows);
        MemorySegment s = w.segment(), d = out.segment();
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                d.setAtIndex(F, (long) c * rows + r, s.getAtIndex(F, (long) r * cols + c));
        return out;
    }

    /** [o, i, kh, kw] → new [kh, kw, i, o]. */
    public static Tensor oihwToHwio(Tensor w, int o, int i, int kh, int kw) {
        Tensor out = Tensor.host(kh, kw, i, o);
        MemorySegment s = w.segment(), d = out.segment();
        for (int a = 0; a < o; a++)
            for (int b = 0; b < i; b++)
                for (int y = 0; y < kh; y++)
                    for (int x = 0; x < kw; x++)
                        d.setAtIndex(F, (((long) y * kw + x) * i + b) * o + a, s.getAtIndex(F, (((long) a * i + b) * kh + y) * kw + x));
        return out;
    }

    /** [kh, kw, i, o] → new [o, i, kh, kw]. */
    public static Tensor hwioToOihw(Tensor w, int o, int i, int kh, int kw) {
        Tensor out = Tensor.host(o, i, kh, kw);
        MemorySegment s = w.segment(), d = out.segment();
        for (int a = 0; a < o; a++)
            for (int b = 0; b < i; b++)
                for (int y = 0; y < kh; y++)
                    for (int x = 0; x < kw; x++)
                        d.setAtIndex(F, (((long) a * i + b) * kh + y) * kw + x, s.getAtIndex(F, (((long) y * kw + x) * i + b) * o + a));
        return out;
    }
}
