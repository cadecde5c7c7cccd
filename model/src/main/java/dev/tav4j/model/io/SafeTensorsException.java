package dev.tav4j.model.io;

import dev.tav4j.model.config.ConfigException;

/**
 * A safetensors file that cannot be read: truncated, malformed header, bad offsets, unsupported dtype, or an I/O
 * failure. Unchecked, like every checkpoint error ({@link ConfigException}); the message names the file and,
 * where one is involved, the tensor.
 */
public class SafeTensorsException extends ConfigException {
    public SafeTensorsException(String message) { super(message); }

    public SafeTensorsException(String message, Throwable cause) {
        super(message);
        initCause(cause);
    }
}
