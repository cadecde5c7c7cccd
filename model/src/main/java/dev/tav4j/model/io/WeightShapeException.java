package dev.tav4j.model.io;

import dev.tav4j.model.config.ConfigException;

/** A weight exists but its shape is not the one the model's config implies; the message names both shapes. */
public class WeightShapeException extends ConfigException {
    public WeightShapeException(String message) { super(message); }
}
