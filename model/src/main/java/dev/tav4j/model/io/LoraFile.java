package dev.tav4j.model.io;

import dev.tav4j.model.config.ConfigException;

import java.nio.file.Path;

/** A LoRA file to merge into the weights at load, and the scale of its update (1: as trained). */
public record LoraFile(Path path, float scale) {
    public LoraFile {
        if (path == null) throw new IllegalArgumentException("no LoRA file");
        if (!Float.isFinite(scale)) throw new ConfigException(path + ": LoRA scale must be a finite number, got " + scale);
    }

    /**
     * {@code FILE[:SCALE]} as {@code --lora} takes it. The scale is what follows the last ':' when that parses as
     * a number, so a path holding ':' (a Windows drive) still reads as a path.
     */
    public static LoraFile parse(String spec) {
        int colon = spec.lastIndexOf(':');
        if (colon > 0 && colon < spec.length() - 1) {
            String tail = spec.substring(colon + 1);
            try {
                return new LoraFile(Path.of(spec.substring(0, colon)), Float.parseFloat(tail));
            } catch (NumberFormatException e) {
                if (!tail.contains("/") && !tail.contains("\\"))
                    throw new ConfigException("--lora " + spec + ": the scale after ':' must be a number, got '" + tail + "' (FILE[:SCALE])");
            }
        }
        return new LoraFile(Path.of(spec), 1f);
    }

    @Override public String toString() { return scale == 1f ? path.toString() : path + ":" + scale; }
}
