package dev.tav4j.model.io;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The safetensors dtype names this reader knows: their element size and whether they can be loaded. */
enum StDType {
    F64(8, true), F32(4, true), F16(2, true), BF16(2, true),
    I64(8, true), I32(4, true), I16(2, true), I8(1, true), U8(1, true), BOOL(1, true),
    U64(8, false), U32(4, true), U16(2, true), F8_E4M3(1, false), F8_E5M2(1, false);

    final int bytes;
    final boolean loadable;

    StDType(int bytes, boolean loadable) {
        this.bytes = bytes;
        this.loadable = loadable;
    }

    boolean isInteger() {
        return this == I64 || this == I32 || this == I16 || this == I8 || this == U8 || this == BOOL
                || this == U32 || this == U16;
    }

    /** The dtype named {@code s}, or null when it is not a known safetensors dtype. */
    static StDType parse(String s) {
        for (StDType d : values()) if (d.name().equals(s)) return d;
        return null;
    }

    static String known() {
        return Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));
    }

    static String loadableNames() {
        return Arrays.stream(values()).filter(d -> d.loadable).map(Enum::name).collect(Collectors.joining(", "));
    }
}
