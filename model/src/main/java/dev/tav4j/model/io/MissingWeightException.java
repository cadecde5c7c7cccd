package dev.tav4j.model.io;

import dev.tav4j.model.config.ConfigException;

/** A weight the model needs is not in the checkpoint; the message names it, the component and the files searched. */
public class MissingWeightException extends ConfigException {
    private final String weight;

    public MissingWeightException(String weight, String message) {
        super(message);
        this.weight = weight;
    }

    /** The name that was asked for. */
    public String weight() { return weight; }
}
