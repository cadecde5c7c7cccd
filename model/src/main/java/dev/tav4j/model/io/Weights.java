package dev.tav4j.model.io;

import dev.tav4j.runtime.Tensor;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Named parameters of one model component ("unet", "vae", "text_encoder", ...), from safetensors files or from
 * memory. Names ending in {@code position_ids} (a transformers buffer, not a parameter) are never listed.
 * Every {@link #load} returns a host F32 tensor that the caller owns and closes; from a file it may be a read-only
 * view of the mapped weights (no copy), so a caller that needs to write copies it first.
 */
public interface Weights extends AutoCloseable {

    /** The component these weights belong to, used in error messages. */
    String component();

    /** Every weight name, in file order. */
    Set<String> names();

    default boolean has(String name) { return names().contains(name); }

    /** The stored shape of {@code name}; throws {@link MissingWeightException} when absent. */
    int[] shape(String name);

    /**
     * Loads {@code name} as a host F32 tensor, possibly a read-only view of the mapped file. When {@code expectedShape} is given (non-empty) the stored shape
     * must equal it, else a {@link WeightShapeException} names the weight and both shapes; with no expected shape
     * any shape is accepted. A missing weight throws {@link MissingWeightException} with similar names as a hint.
     */
    Tensor load(String name, int... expectedShape);

    /**
     * {@code name} already repacked into an engine layout ({@code layout} names the repacking), read from a cache of
     * repacked weights ({@link RepackCache}) as a read-only view, when the stored weight has {@code storedShape};
     * null where there is no such cache entry (then load and repack it, and offer it with {@link #keepRepacked}).
     */
    default Tensor repacked(String name, String layout, int... storedShape) { return null; }

    /** Offers a weight just repacked into {@code layout} to the cache of repacked weights, if any (the tensor stays the caller's). */
    default void keepRepacked(String name, String layout, Tensor packed) {}

    /** Where the weights come from, for messages and logs. */
    String describe();

    /** Releases the files; tensors already loaded stay valid (a mapped file is unmapped when its last view closes). */
    @Override void close();

    /** Weights of {@code component} over one or more safetensors files (e.g. shards); duplicate names are an error. */
    static Weights open(String component, Path... files) {
        return FileWeights.open(component, List.of(files), null);
    }

    /** As {@link #open(String, Path...)}, with repacked weights cached in {@code cache} (which the weights then own and close). */
    static Weights open(String component, RepackCache cache, Path... files) {
        return FileWeights.open(component, List.of(files), cache);
    }

    /**
     * The weights of a model folder found as transformers and diffusers look for them ({@code model.safetensors} or
     * {@code diffusion_pytorch_model.safetensors}, sharded with an index, or the .fp16 variants); a ConfigException
     * saying what the folder holds instead (PyTorch pickles, nothing) when there are none.
     */
    static Weights openFolder(String component, Path folder) {
        return FileWeights.open(component, WeightFiles.find(folder, folder), null);
    }

    /**
     * {@code primary}'s weights, and for a name it lacks those of {@code base}, opened on first need (a tuned UNet
     * folder in front of its base checkpoint's UNet). Closing closes both.
     */
    static Weights withFallback(Weights primary, java.util.function.Supplier<Weights> base) {
        return new FallbackWeights(primary, base);
    }

    /**
     * Weights held in memory (freshly initialised or in-process models). {@link #load} returns copies, so the
     * caller may close or modify what it gets; the map's tensors stay owned by whoever made them.
     */
    static Weights of(String component, Map<String, Tensor> tensors) {
        return new MapWeights(component, tensors);
    }
}
