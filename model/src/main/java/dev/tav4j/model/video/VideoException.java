package dev.tav4j.model.video;

/** A video or image that cannot be read or written; the message names the file. */
public class VideoException extends RuntimeException {
    public VideoException(String message) { super(message); }

    public VideoException(String message, Throwable cause) { super(message, cause); }
}
