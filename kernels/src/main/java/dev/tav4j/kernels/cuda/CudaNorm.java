package dev.tav4j.kernels.cuda;

import static dev.tav4j.kernels.cuda.CudaLaunch.ptr;
import static dev.tav4j.kernels.cuda.CudaLaunch.sameType;

import dev.tav4j.runtime.Tensor;

import java.util.Arrays;

/**
 * GroupNorm (optionally pooled over a video's frames, optionally fused with SiLU) and LayerNorm over the last
 * dimension (groupnorm.cu). GroupNorm runs in three launches with fixed-order fp32 statistics: partial sums over
 * s slices of each (video, group), their combination into (mean, rstd), then the normalisation.
 */
final class CudaNorm implements AutoCloseable {
    private final CudaLaunch l;
    private final DeviceScratch scratch;

    CudaNorm(CudaLaunch launch) {
        this.l = launch;
        this.scratch = new DeviceScratch(launch.api);
    }

    void groupNorm(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps, boolean silu, Tensor out) {
        if (x.rank() < 2) throw new IllegalArgumentException("groupNorm: x must be [N, ..., C], got " + Arrays.toString(x.shape()));
        int n = x.dim(0), c = x.dim(-1);
        if (groups < 1 || c % groups != 0) throw new IllegalArgumentException("groupNorm: " + c + " channels do not split into " + groups + " groups");
        if (framesPooled < 1 || n % framesPooled != 0) throw new IllegalArgumentException("groupNorm: " + n + " images do not split into videos of " + framesPooled + " frames");
        out.requireShape("groupNorm: out", x.shape());
        gamma.requireShape("groupNorm: gamma", c);
        beta.requireShape("groupNorm: beta", c);
        sameType("groupNorm", x, gamma, beta, out);
        long hw = x.sizeFrom(1) / c;
        int videos = n / framesPooled, vg = videos * groups;
        long groupElems = framesPooled * hw * (c / groups);
        int s = (int) Math.max(1, Math.min(l.api.emulated() ? 4 : 64, (groupElems + 8191) / 8192));
        long chunk = (groupElems + s - 1) / s;
        long partials = scratch.get((long) vg * s * 3 * 4 + (long) vg * 2 * 4);
        long stats = partials + (long) vg * s * 3 * 4;
        CudaKernels.Typed k = l.kernels.of(x.dtype());
        l.args.reset().ptr(ptr(x)).ptr(partials).i32(c).i32(groups).i64(hw).i32(framesPooled).i64(chunk);
        l.grid(k.groupNormPartial, s, vg, 256, 0);
        l.args.reset().ptr(partials).ptr(stats).i32(vg).i32(s).f32(eps);
        l.grid(l.kernels.groupNormFinalize, (vg + 255) / 256, 1, 256, 0);
        l.args.reset().ptr(ptr(x)).ptr(stats).ptr(ptr(gamma)).ptr(ptr(beta)).ptr(ptr(out)).i64(x.size())
                .i32(c).i32(groups).i64(hw).i32(framesPooled).i32(silu ? 1 : 0);
        l.elementwise(k.groupNormApply, x.size(), l.args);
    }

    void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
        int c = x.dim(-1);
        out.requireShape("layerNorm: out", x.shape());
        gamma.requireShape("layerNorm: gamma", c);
        beta.requireShape("layerNorm: beta", c);
        sameType("layerNorm", x, gamma, beta, out);
        long rows = x.size() / Math.max(c, 1);
        l.args.reset().ptr(ptr(x)).ptr(ptr(gamma)).ptr(ptr(beta)).ptr(ptr(out)).i64(rows).i32(c).f32(eps);
        l.grid(l.kernels.of(x.dtype()).layerNorm, Math.toIntExact((rows + 3) / 4), 1, 128, 0);
    }

    @Override public void close() {
        scratch.close();
    }
}
