package dev.tav4j.video;

import dev.tav4j.model.video.VideoException;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.ffmpeg.global.avutil;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Shared FFmpeg plumbing: quiet logging, error text, encoder lookup. Natives come from the bytedeco jars. */
final class Ffmpeg {
    private Ffmpeg() {}

    static {
        // FFmpeg logs from native code straight to fd 2 at "info" by default, and even at "error" a damaged file gives
        // lines like "[mov,mp4,… @ 0x…] moov atom not found" next to our own message: every problem reaches callers as
        // an exception (VideoException), so the log is off unless an entry point asks for it (FfmpegLog.level; tav
        // reads -Dtav.ffmpeg.log=debug, info, warning, error, … for diagnosis).
        avutil.av_log_set_level(avutil.AV_LOG_QUIET);
    }

    /** Sets FFmpeg's log level by name (quiet, fatal, error, warning, info, verbose, debug; anything else: quiet). */
    static void setLevel(String name) {
        avutil.av_log_set_level(level(name));
    }

    /** Loads the natives and sets the log level (quiet unless asked); call before any other FFmpeg function. */
    static void init() {}

    /** Throws a VideoException naming {@code file} and what failed when {@code ret} is an FFmpeg error code. */
    static int check(int ret, Path file, String what) {
        if (ret < 0) throw new VideoException(file + ": " + what + ": " + describe(ret));
        return ret;
    }

    static String describe(int ret) {
        byte[] buf = new byte[256];
        avutil.av_strerror(ret, buf, buf.length);
        int n = 0;
        while (n < buf.length && buf[n] != 0) n++;
        return new String(buf, 0, n, StandardCharsets.UTF_8) + " (error " + ret + ")";
    }

    /** FFmpeg's log level now (av_log_get_level): AV_LOG_QUIET unless {@link FfmpegLog#level} asked for more. */
    static int logLevel() {
        init();
        return avutil.av_log_get_level();
    }

    /** Whether this FFmpeg build has an encoder called {@code name} (e.g. "libx264"). */
    static boolean hasEncoder(String name) {
        init();
        return avcodec.avcodec_find_encoder_by_name(name) != null;
    }

    private static int level(String name) {
        return switch (name.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "quiet" -> avutil.AV_LOG_QUIET;
            case "fatal" -> avutil.AV_LOG_FATAL;
            case "warning" -> avutil.AV_LOG_WARNING;
            case "info" -> avutil.AV_LOG_INFO;
            case "verbose" -> avutil.AV_LOG_VERBOSE;
            case "debug" -> avutil.AV_LOG_DEBUG;
            case "error" -> avutil.AV_LOG_ERROR;
            default -> avutil.AV_LOG_QUIET;
        };
    }
}
