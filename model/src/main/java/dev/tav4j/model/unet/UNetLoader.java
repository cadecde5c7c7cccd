package dev.tav4j.model.unet;

import dev.tav4j.model.config.ConfigException;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.io.Lora;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Builds the UNet3D the way Tune-A-Video does: a tuned UNet3DConditionModel folder as saved by the official
 * code, or the checkpoint's 2D UNet inflated, its temporal layers read from a file or freshly initialised.
 */
public final class UNetLoader {
    private UNetLoader() {}

    /**
     * @param tuned         a tuned UNet folder (with config.json and weights), or null for the checkpoint's own UNet
     * @param temporalInit  a safetensors file with the temporal layers for inflating a 2D UNet, or null for a fresh init
     * @param seed          seed of the fresh temporal init
     */
    public static UNet3D load(Ops ops, CheckpointDir ckpt, Path tuned, Path temporalInit, long seed) {
        return load(ops, ckpt, tuned, temporalInit, seed, name -> false);
    }

    /** As above; {@code trainable} selects the parameters a tuning job updates (writable copies; see {@link ParamStore}). */
    public static UNet3D load(Ops ops, CheckpointDir ckpt, Path tuned, Path temporalInit, long seed, Predicate<String> trainable) {
        return load(ops, ckpt, tuned, temporalInit, seed, trainable, Lora.NONE);
    }

    /** As above, with {@code lora} merged into the UNet's weights (over a tuned UNet too: whatever UNet is loaded). */
    public static UNet3D load(Ops ops, CheckpointDir ckpt, Path tuned, Path temporalInit, long seed, Predicate<String> trainable, Lora lora) {
        return load(ops, ckpt, tuned, temporalInit, seed, trainable, lora, UNetVariant.DEFAULT);
    }

    /** As above, the UNet built with the attention of {@code variant} (an ablation; DEFAULT is the method's). */
    public static UNet3D load(Ops ops, CheckpointDir ckpt, Path tuned, Path temporalInit, long seed, Predicate<String> trainable, Lora lora,
                              UNetVariant variant) {
        if (tuned != null) {
            UNetConfig base = ckpt.unetConfig();
            try (Weights w = tunedWeights(ckpt, tuned)) {
                UNetConfig cfg = CheckpointDir.unetFolderConfig(tuned);
                requireCompatible(base, cfg, tuned);
                return build(ops, cfg, w, temporalInit, seed, trainable, lora, variant);
            }
        }
        try (Weights w = ckpt.weights("unet")) {
            return build(ops, ckpt.unetConfig(), w, temporalInit, seed, trainable, lora, variant);
        }
    }

    /**
     * The weights of a tuned UNet folder, with the base checkpoint's UNet behind it for any weight the folder
     * lacks (opened only then: a complete tuned folder never maps the base UNet). A delta ({@link TunedDelta}) for
     * another base is refused here, naming both hashes: it would load without error, and wrong.
     */
    public static Weights tunedWeights(CheckpointDir ckpt, Path tuned) {
        TunedDelta.requireBase(ckpt, tuned);
        return Weights.withFallback(ckpt.tunedUnet(tuned), () -> ckpt.weights("unet"));
    }

    /** Inflates (when the config is 2D) and builds; the weights are only read during the call. */
    public static UNet3D build(Ops ops, UNetConfig cfg, Weights w, Path temporalInit, long seed) {
        return build(ops, cfg, w, temporalInit, seed, name -> false);
    }

    public static UNet3D build(Ops ops, UNetConfig cfg, Weights w, Path temporalInit, long seed, Predicate<String> trainable) {
        return build(ops, cfg, w, temporalInit, seed, trainable, Lora.NONE);
    }

    /**
     * As above, {@code lora} merged over the inflated weights, so a LoRA of the temporal layers applies too. The
     * wrappers made here are not closed: they would close {@code w}, which is the caller's.
     */
    public static UNet3D build(Ops ops, UNetConfig cfg, Weights w, Path temporalInit, long seed, Predicate<String> trainable, Lora lora) {
        return build(ops, cfg, w, temporalInit, seed, trainable, lora, UNetVariant.DEFAULT);
    }

    /** As above, with the attention of {@code variant}. */
    public static UNet3D build(Ops ops, UNetConfig cfg, Weights w, Path temporalInit, long seed, Predicate<String> trainable, Lora lora,
                               UNetVariant variant) {
        if (cfg.is3D() || hasTemporal(w)) return new UNet3D(ops, cfg, lora.apply(w), trainable, variant);
        if (temporalInit != null) {
            try (Weights t = Weights.open("unet temporal layers", temporalInit)) {
                return new UNet3D(ops, cfg, lora.apply(new UnionWeights(w, t)), trainable, variant);
            }
        }
        Map<String, Tensor> fresh = TemporalInit.fresh(cfg, seed);
        try {
            return new UNet3D(ops, cfg, lora.apply(new UnionWeights(w, Weights.of("unet temporal layers (fresh init)", fresh))), trainable, variant);
        } finally {
            fresh.values().forEach(Tensor::close);
        }
    }

    /** Whether a LoRA key names a temporal layer, which a 2D UNet gains only when it is inflated. */
    public static boolean temporalKey(String key) {
        return key.contains("attn_temp") || key.contains("norm_temp");
    }

    public static boolean hasTemporal(Weights w) {
        return w.names().stream().anyMatch(n -> n.contains(".attn_temp."));
    }

    private static void requireCompatible(UNetConfig base, UNetConfig tuned, Path dir) {
        if (!Arrays.equals(base.blockOutChannels(), tuned.blockOutChannels()) || base.crossAttentionDim() != tuned.crossAttentionDim()
                || base.inChannels() != tuned.inChannels() || base.layersPerBlock() != tuned.layersPerBlock())
            throw new ConfigException(dir + ": the tuned UNet does not match the base checkpoint (block_out_channels "
                    + Arrays.toString(tuned.blockOutChannels()) + " vs " + Arrays.toString(base.blockOutChannels())
                    + ", cross_attention_dim " + tuned.crossAttentionDim() + " vs " + base.crossAttentionDim() + ")");
    }
}
