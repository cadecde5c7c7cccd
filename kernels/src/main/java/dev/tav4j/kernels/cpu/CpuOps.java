package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.Activation;
import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

/**
 * The pure-Java backend: host F32 tensors, Vector API in the inner loops, all cores through
 * {@link dev.tav4j.runtime.Parallel}. Each op family lives in its own class; this one only delegates. Without
 * jdk.incubator.vector in the JVM (or with {@link dev.tav4j.runtime.BackendSettings#cpuVectorApi()} off) every kernel
 * runs its scalar twin instead: the same checks, splits and results within the tests' tolerances, slower.
 */
public final class CpuOps implements Ops {
    private final dev.tav4j.runtime.BackendSettings settings;
    /** Whether the kernels run on the Vector API (decided once, here) or as their scalar twins. */
    private final boolean vector;
    private CpuGradOps grad;

    /** The cpu backend with the default settings. */
    public CpuOps() {
        this(dev.tav4j.runtime.BackendSettings.DEFAULTS);
    }

    /** The cpu backend made with {@code settings}: it computes in F32 whatever they ask; the rest does not apply here. */
    public CpuOps(dev.tav4j.runtime.BackendSettings settings) {
        this.settings = settings.withPrecision(dev.tav4j.runtime.DType.F32);
        this.vector = VectorApi.use(settings.cpuVectorApi());
    }

    /** Whether the kernels run on the Vector API; false: scalar loops (no jdk.incubator.vector, or the settings). */
    public boolean vectorApi() { return vector; }

    /** Whether jdk.incubator.vector is in this JVM (so {@link CpuFmaPeak} and the vector kernels can load). */
    public static boolean vectorApiPresent() { return VectorApi.PRESENT; }

    @Override public dev.tav4j.runtime.BackendSettings settings() { return settings; }

    @Override public String name() { return "cpu"; }

    @Override public synchronized dev.tav4j.runtime.GradOps grad() {
        if (grad == null) grad = new CpuGradOps(this);
        return grad;
    }

    @Override public Tensor allocate(int... shape) { return Tensor.host(shape); }

    @Override public Tensor upload(Tensor host) {
        Check.host("upload", "host", host);
        return Tensor.host(host.shape()).copyFrom(host);
    }

    @Override public boolean computesOnHost() { return true; }

    @Override public Tensor adopt(Tensor host) {
        Check.host("adopt", "host", host);
        return host;
    }

    @Override public Tensor download(Tensor t) {
        Check.host("download", "t", t);
        return Tensor.host(t.shape()).copyFrom(t);
    }

    @Override public void matmul(Tensor a, Tensor w, Tensor bias, Tensor out) {
        CpuMatmul.run(a, w, bias, out, vector);
    }

    @Override public void conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, boolean padBottomRightOnly, Tensor out) {
        CpuConv2d.run(x, w, bias, stride, padding, padBottomRightOnly, out, vector);
    }

    @Override public void groupNorm(Tensor x, int groups, int framesPooled, Tensor gamma, Tensor beta, float eps, boolean silu, Tensor out) {
        CpuGroupNorm.run(x, groups, framesPooled, gamma, beta, eps, silu, out, vector);
    }

    @Override public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
        CpuLayerNorm.run(x, gamma, beta, eps, out, vector);
    }

    @Override public void attention(AttentionKind kind, int frames, int heads, float scale, Tensor q, Tensor k, Tensor v, Tensor out) {
        CpuAttention.run(kind, frames, heads, scale, q, k, v, out, vector);
    }

    @Override public void geglu(Tensor x, Tensor out) { CpuElementwise.geglu(x, out, vector); }

    @Override public void activation(Activation act, Tensor x, Tensor out) { CpuElementwise.activation(act, x, out, vector); }

    @Override public void upsampleNearest(Tensor x, Tensor out) { CpuLayout.upsampleNearest(x, out); }

    @Override public void timestepEmbedding(float[] timesteps, int dim, boolean flipSinToCos, float downscaleFreqShift, Tensor out) {
        CpuTimestep.run(timesteps, dim, flipSinToCos, downscaleFreqShift, out);
    }

    @Override public void axpby(float a, Tensor x, float b, Tensor y, Tensor out) { CpuElementwise.axpby(a, x, b, y, out, vector); }

    @Override public void addChannelBias(Tensor x, Tensor rows, int repeat, Tensor out) {
        CpuElementwise.addChannelBias(x, rows, repeat, out, vector);
    }

    @Override public void concatChannels(Tensor a, Tensor b, Tensor out) { CpuLayout.concatChannels(a, b, out); }

    @Override public void splitChannels(Tensor x, Tensor a, Tensor b) { CpuLayoutGrad.splitChannels(x, a, b); }

    @Override public void mul(Tensor x, Tensor y, Tensor out) { CpuElementwise.mul(x, y, out, vector); }

    @Override public void sum(Tensor x, Tensor out) { CpuElementwise.sum(x, out); }

    @Override public void fill(float value, Tensor out) { CpuElementwise.fill(value, out); }

    @Override public void fill(Tensor value, Tensor out) { CpuElementwise.fill(value, out); }

    @Override public void permute(Tensor x, int[] perm, Tensor out) { CpuLayout.permute(x, perm, out); }

    @Override public void gatherRows(Tensor table, int[] ids, Tensor out) { CpuLayout.gatherRows(table, ids, out); }

    @Override public void copy(Tensor src, Tensor dst) { CpuLayout.copy(src, dst); }
}
