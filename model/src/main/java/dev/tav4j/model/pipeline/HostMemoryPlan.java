package dev.tav4j.model.pipeline;

import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.config.VaeConfig;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.runtime.HostMemory;
import dev.tav4j.runtime.HostOutOfMemoryException;

import java.nio.file.Path;

/**
 * The host memory a run on the CPU backend needs, estimated before anything is loaded: the weights as F32 (from
 * the files' headers) plus the largest working set of activations for the frames and size asked for. A run that
 * cannot fit is refused up front with the numbers, instead of failing after minutes of loading and computing.
 * The activation factors are upper bounds fitted to measured peaks (docs/performance.md, "Host memory").
 */
public record HostMemoryPlan(long weightBytes, long activationBytes, long availableBytes, Workload workload) {

    /** What the run computes: frames of height × width pixels; guided (two UNet batches), from a video, tuning. */
    public record Workload(int frames, int height, int width, boolean guided, boolean encodesVideo, boolean trains) {}

    /** JVM, code, tokenizer and small buffers, beside weights and activations. */
    static final long BASE_BYTES = 768L << 20;
    /** Floats per UNet token per base channel live at the peak of a step (skips, attention, GEGLU); tuning keeps more. */
    static final int UNET_INFER = 32, UNET_TRAIN = 64;
    /** Floats per pixel per VAE base channel at the decoder's full-resolution blocks (one frame) and the encoder's (all frames). */
    static final int VAE_DECODE = 8, VAE_ENCODE = 6;

    /** The plan for {@code checkpoint} (and a tuned UNet folder, or null) on {@code work}. */
    public static HostMemoryPlan estimate(Path checkpoint, Path tunedUnet, Workload work) {
        return estimate(CheckpointDir.open(checkpoint), tunedUnet, work);
    }

    /** As above, for an opened checkpoint (a folder or a single file with its configs). */
    public static HostMemoryPlan estimate(CheckpointDir ckpt, Path tunedUnet, Workload work) {
        UNetConfig unet = tunedUnet != null ? CheckpointDir.unetFolderConfig(tunedUnet) : ckpt.unetConfig();
        long unetBytes = tunedUnet != null ? CheckpointDir.unetFolderWeightBytesF32(tunedUnet) : ckpt.weightBytesF32("unet");
        if (tunedUnet == null && !unet.is3D()) unetBytes += temporalParams(unet) * 4;
        long weights = ckpt.weightBytesF32("text_encoder") + ckpt.weightBytesF32("vae") + unetBytes;
        return new HostMemoryPlan(weights, activations(unet, ckpt.vaeConfig(), work), HostMemory.availableBytes(), work);
    }

    /** The plan for a model built in the process (the demo's smoke-test model): its configs and its weights' bytes. */
    public static HostMemoryPlan of(UNetConfig unet, VaeConfig vae, long weightBytes, Workload work) {
        return new HostMemoryPlan(weightBytes, activations(unet, vae, work), HostMemory.availableBytes(), work);
    }

    /** Parameters the inflation adds: per transformer, attn_temp's four projections (and output bias) and norm_temp. */
    static long temporalParams(UNetConfig c) {
        int[] ch = c.blockOutChannels();
        long n = 0;
        for (int i = 0; i < ch.length; i++) {
            long per = 4L * ch[i] * ch[i] + 3L * ch[i];
            if (c.downHasAttention(i)) n += per * c.layersPerBlock();
            if (c.upHasAttention(ch.length - 1 - i)) n += per * (c.layersPerBlock() + 1);
        }
        long top = ch[ch.length - 1];
        return n + 4 * top * top + 3 * top;
    }

    /** The activations' peak; an absurd shape whose bytes overflow a long counts as Long.MAX_VALUE (refused, not wrapped). */
    static long activations(UNetConfig unet, VaeConfig vae, Workload w) {
        try {
            return exactActivations(unet, vae, w);
        } catch (ArithmeticException overflow) {
            return Long.MAX_VALUE;
        }
    }

    private static long exactActivations(UNetConfig unet, VaeConfig vae, Workload w) {
        int scale = 1 << (vae.blockOutChannels().length - 1);
        long pixels = Math.multiplyExact((long) w.height(), (long) w.width());
        long tokens = Math.multiplyExact((w.guided() ? 2L : 1L) * w.frames(), pixels / ((long) scale * scale));
        long unetBytes = Math.multiplyExact(tokens, (long) unet.blockOutChannels()[0] * (w.trains() ? UNET_TRAIN : UNET_INFER) * 4);
        int cv = vae.blockOutChannels()[0];
        long decode = Math.multiplyExact(pixels, (long) cv * VAE_DECODE * 4);
        long encode = w.encodesVideo() ? Math.multiplyExact(Math.multiplyExact(pixels, (long) w.frames()), (long) cv * VAE_ENCODE * 4) : 0;
        long video = Math.multiplyExact(Math.multiplyExact(pixels, (long) w.frames()), 3L * 3 * 4);  // frames as floats, as images, and the written copy
        return Math.addExact(Math.max(unetBytes, Math.max(decode, encode)), video);
    }

    /** Estimated peak: weights, activations and the fixed base. */
    public long needBytes() {
        long n = weightBytes + activationBytes + BASE_BYTES;
        return n < 0 ? Long.MAX_VALUE : n;  // saturates for shapes whose activations already saturated
    }

    public boolean fits() { return needBytes() <= availableBytes; }

    /** This plan when it fits; otherwise a {@link HostOutOfMemoryException} with the estimate, what is free, and what to change. */
    public HostMemoryPlan requireFits() {
        if (fits()) return this;
        throw new HostOutOfMemoryException("not enough memory for this run on the cpu: about " + HostMemory.format(needBytes())
                + " needed (weights " + HostMemory.format(weightBytes) + ", activations for " + workload.frames() + " frames of "
                + workload.width() + "x" + workload.height() + " " + HostMemory.format(activationBytes) + "), "
                + HostMemory.format(availableBytes) + " available; use fewer frames or a smaller size, or a GPU (--device cuda)");
    }

    @Override public String toString() {
        return "about " + HostMemory.format(needBytes()) + " (weights " + HostMemory.format(weightBytes) + ", activations "
                + HostMemory.format(activationBytes) + ") of " + HostMemory.format(availableBytes) + " available";
    }
}
