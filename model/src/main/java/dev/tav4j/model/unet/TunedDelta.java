package dev.tav4j.model.unet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tav4j.model.config.ConfigException;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.tune.RunFingerprint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A tuned UNet saved as a delta ({@code --save-trainable-only}): its folder holds config.json, the tensors a
 * tuning changed or added (the trainable ones, and the inflated temporal layers the 2D base lacks), and
 * {@value #FILE} naming the base checkpoint by its content hash. It loads only over a base with that hash; every
 * other weight comes from the base's UNet ({@link UNetLoader#tunedWeights}).
 */
public final class TunedDelta {
    /** The file in a delta's unet/ folder that makes it one. */
    public static final String FILE = "tav4j-delta.json";
    static final String FORMAT = "tav4j-unet-delta";

    /** What {@value #FILE} records. */
    public record Info(String baseHash, String baseHint, List<String> trainableModules, int tensors) {}

    private TunedDelta() {}

    /**
     * The base's content hash: {@link RunFingerprint#model} over the checkpoint folder (or single file): the configs
     * whole, and each safetensors file's size and header (every tensor's name, dtype, shape and offsets), not every
     * byte. Another model, a fine-tune, a pruned or re-converted copy changes a header, a size or a config; reading
     * headers keeps the check instant on a 4 GB checkpoint.
     */
    public static String baseHash(CheckpointDir base) {
        return RunFingerprint.model(base.dir());
    }

    /** Writes {@value #FILE} into {@code unetDir}. */
    public static void write(Path unetDir, CheckpointDir base, List<String> trainableModules, int tensors) throws IOException {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("format", FORMAT);
        o.put("base_hash", baseHash(base));
        o.put("base_path_hint", base.dir().toString());
        o.putPOJO("trainable_modules", List.copyOf(trainableModules));
        o.put("tensors", tensors);
        Files.writeString(unetDir.resolve(FILE), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(o));
    }

    /** The delta record of a tuned UNet folder (DIR or DIR/unet), or empty for a full tuned UNet. */
    public static Optional<Info> read(Path tuned) {
        Path f = CheckpointDir.unetFolderPath(tuned).resolve(FILE);
        if (!Files.isRegularFile(f)) return Optional.empty();
        JsonNode j = Json.read(f);
        String hash = j.path("base_hash").asText("");
        if (!FORMAT.equals(j.path("format").asText()) || hash.isEmpty())
            throw new ConfigException(f + ": not a tav4j tuned delta (expected \"format\": \"" + FORMAT + "\" and a base_hash)");
        List<String> modules = new ArrayList<>();
        j.path("trainable_modules").forEach(m -> modules.add(m.asText()));
        return Optional.of(new Info(hash, j.path("base_path_hint").asText(""), modules, j.path("tensors").asInt(-1)));
    }

    /** Refuses a delta saved over another base than {@code base}, naming both hashes; a full tuned UNet passes. */
    public static void requireBase(CheckpointDir base, Path tuned) {
        Optional<Info> d = read(tuned);
        if (d.isEmpty()) return;
        String have = baseHash(base);
        if (!have.equals(d.get().baseHash()))
            throw new ConfigException(tuned + ": a tuned delta for the base " + d.get().baseHash()
                    + (d.get().baseHint().isEmpty() ? "" : " (" + d.get().baseHint() + ")") + ", but " + base.dir() + " is " + have
                    + "; give --model the checkpoint it was tuned from, or tune again with a full save (without --save-trainable-only)");
    }

    /** Whether a delta holds {@code name}: trainable, or absent from the base UNet (the inflated temporal layers). */
    public static boolean holds(String name, boolean trainable, java.util.Set<String> baseNames) {
        return trainable || !baseNames.contains(name);
    }
}
