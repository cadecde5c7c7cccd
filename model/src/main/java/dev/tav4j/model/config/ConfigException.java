package dev.tav4j.model.config;

/** A checkpoint or config that cannot be used; the message names the file and the field. */
public class ConfigException extends RuntimeException {
    public ConfigException(String message) { super(message); }
}
