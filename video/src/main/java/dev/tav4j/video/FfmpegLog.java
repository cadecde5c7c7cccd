package dev.tav4j.video;

/**
 * FFmpeg's own log, which its native code writes straight to file descriptor 2: off (quiet) unless an entry point asks
 * for more, since every problem reaches callers as a {@link dev.tav4j.model.video.VideoException}. The level is process-wide, as FFmpeg's is;
 * the tav command sets it from {@code -Dtav.ffmpeg.log=LEVEL}.
 */
public final class FfmpegLog {
    private FfmpegLog() {}

    /** quiet (the default), fatal, error, warning, info, verbose or debug; any other name is quiet. */
    public static void level(String name) {
        Ffmpeg.setLevel(name);
    }
}
