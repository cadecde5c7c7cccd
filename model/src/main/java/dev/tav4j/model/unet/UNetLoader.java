package dev.tav4j.model.unet;

import dev.tav4j.model.config.ConfigException;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.io.CheckpointDir;
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

    /** As above; {@code keepF32} selects parameters whose exact fp32 values stay on the device (see {@link ParamStore}). */
    public static UNet3D load(Ops ops, CheckpointDir ckpt, Path tuned, Path temporalInit, long seed, Predicate<String> keepF32) {
        if (tuned != null) {
            UNetConfig base = ckpt.unetConfig();
            try (Weights w = CheckpointDir.unetFolder(tuned)) {
                UNetConfig cfg = CheckpointDir.unetFolderConfig(tuned);
                requireCompatible(base, cfg, tuned);
                return build(ops, cfg, w, temporalInit, seed, keepF32);
            }
        }
        try (Weights w = ckpt.weights("unet")) {
            return build(ops, ckpt.unetConfig(), w, temporalInit, seed, keepF32);
        }
    }

    /** Inflates (when the config is 2D) and builds; the weights are only read during the call. */
    public static UNet3D build(Ops ops, UNetConfig cfg, Weights w, Path temporalInit, long seed) {
        return build(ops, cfg, w, temporalInit, seed, name -> false);
    }

    public static UNet3D build(Ops ops, UNetConfig cfg, Weights w, Path temporalInit, long seed, Predicate<String> keepF32) {
        if (cfg.is3D() || hasTemporal(w)) return new UNet3D(ops, cfg, w, keepF32);
        if (temporalInit != null) {
            try (Weights t = Weights.open("unet temporal layers", temporalInit)) {
                return new UNet3D(ops, cfg, new UnionWeights(w, t), keepF32);
            }
        }
        Map<String, Tensor> fresh = TemporalInit.fresh(cfg, seed);
        try {
            return new UNet3D(ops, cfg, new UnionWeights(w, Weights.of("unet temporal layers (fresh init)", fresh)), keepF32);
        } finally {
            fresh.values().forEach(Tensor::close);
        }
    }

    private static boolean hasTemporal(Weights w) {
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
