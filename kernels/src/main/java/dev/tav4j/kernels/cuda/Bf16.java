package dev.tav4j.kernels.cuda;

/** bfloat16 bit conversions (round to nearest even), matching __float2bfloat16 on the device. */
final class Bf16 {
    private Bf16() {}

    static short fromFloat(float v) {
        int f = Float.floatToRawIntBits(v);
        if ((f & 0x7fffffff) > 0x7f800000) return (short) ((f >>> 16) | 0x40);  // quiet NaN
        f += 0x7fff + ((f >>> 16) & 1);
        return (short) (f >>> 16);
    }

    static float toFloat(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }
}
