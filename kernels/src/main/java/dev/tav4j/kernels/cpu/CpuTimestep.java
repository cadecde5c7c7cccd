package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * diffusers' get_timestep_embedding (scale 1, max_period 10000), step by step in float32 as PyTorch computes it:
 * exponent = −ln(10000)·k / (half − shift), freq = exp(exponent), arg = t·freq, then [sin | cos] (or
 * [cos | sin] when flipped) and a zero column when dim is odd.
 */
final class CpuTimestep {
    private CpuTimestep() {}

    static void run(float[] timesteps, int dim, boolean flipSinToCos, float downscaleFreqShift, Tensor out) {
        String op = "timestepEmbedding";
        Check.that(timesteps != null, op + ": timesteps is null");
        Check.that(dim > 0, op + ": dim must be positive, got " + dim);
        Check.shape(op, "out", out, timesteps.length, dim);
        int half = dim / 2;
        float negLog = (float) -Math.log(10000.0);
        float denom = (float) (half - downscaleFreqShift);
        float[] freq = new float[half];
        for (int k = 0; k < half; k++) freq[k] = (float) Math.exp((negLog * (float) k) / denom);
        MemorySegment os = out.segment();
        for (int b = 0; b < timesteps.length; b++) {
            long row = (long) b * dim;
            for (int k = 0; k < half; k++) {
                float arg = timesteps[b] * freq[k];
                float s = (float) Math.sin(arg), c = (float) Math.cos(arg);
                Floats.set(os, row + k, flipSinToCos ? c : s);
                Floats.set(os, row + half + k, flipSinToCos ? s : c);
            }
            if (dim % 2 == 1) Floats.set(os, row + dim - 1, 0f);
        }
    }
}
