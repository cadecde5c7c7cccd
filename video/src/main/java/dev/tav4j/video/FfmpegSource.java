package dev.tav4j.video;

import dev.tav4j.model.video.VideoException;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.avutil.AVRational;
import org.bytedeco.javacpp.PointerPointer;

import java.nio.file.Path;

import static org.bytedeco.ffmpeg.global.avcodec.*;
import static org.bytedeco.ffmpeg.global.avformat.*;
import static org.bytedeco.ffmpeg.global.avutil.*;

/**
 * The decoded frames of a file's best video stream, in presentation order, one at a time (FFmpeg demuxer and
 * decoder; works for MP4/MOV/WebM/GIF and single PNG/JPEG images). Holds native memory: close it.
 */
final class FfmpegSource implements AutoCloseable {
    private final Path file;
    private AVFormatContext format;
    private AVCodecContext decoder;
    private final AVPacket packet;
    private final AVFrame frame;
    private final int stream;
    private final double fps;
    private boolean draining, done;

    private FfmpegSource(Path file) {
        Ffmpeg.init();
        this.file = file;
        packet = av_packet_alloc();
        frame = av_frame_alloc();
        try {
            format = new AVFormatContext(null);
            int r = avformat_open_input(format, file.toString(), null, null);
            if (r < 0) {
                format = null;
                throw new VideoException("cannot read " + file + " as a video or image: " + Ffmpeg.describe(r));
            }
            Ffmpeg.check(avformat_find_stream_info(format, (PointerPointer<?>) null), file, "reading stream info");
            stream = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, (AVCodec) null, 0);
            if (stream < 0) throw new VideoException(file + " has no video stream (" + Ffmpeg.describe(stream) + ")");
            AVStream st = format.streams(stream);
            AVCodec codec = avcodec_find_decoder(st.codecpar().codec_id());
            if (codec == null) throw new VideoException(file + ": this FFmpeg build has no decoder for codec id " + st.codecpar().codec_id());
            decoder = avcodec_alloc_context3(codec);
            Ffmpeg.check(avcodec_parameters_to_context(decoder, st.codecpar()), file, "decoder parameters");
            decoder.thread_count(0); // FFmpeg picks the thread count; output is identical
            Ffmpeg.check(avcodec_open2(decoder, codec, (AVDictionary) null), file, "opening the " + codec.name().getString() + " decoder");
            fps = rate(st.avg_frame_rate(), rate(st.r_frame_rate(), 0));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    static FfmpegSource open(Path file) { return new FfmpegSource(file); }

    /** Frames per second the container declares (its average frame rate), 0 when it declares none. */
    double fps() { return fps; }

    /** Advances to the next decoded frame; false at the end of the stream. */
    boolean next() {
        if (done) return false;
        av_frame_unref(frame);
        while (true) {
            int r = avcodec_receive_frame(decoder, frame);
            if (r >= 0) return true;
            if (r == AVERROR_EOF) { done = true; return false; }
            if (r != AVERROR_EAGAIN()) Ffmpeg.check(r, file, "decoding");
            if (draining) { done = true; return false; }
            r = av_read_frame(format, packet);
            if (r < 0) {
                if (r != AVERROR_EOF) Ffmpeg.check(r, file, "reading packets");
                draining = true;
                Ffmpeg.check(avcodec_send_packet(decoder, null), file, "flushing the decoder");
                continue;
            }
            try {
                if (packet.stream_index() == stream) Ffmpeg.check(avcodec_send_packet(decoder, packet), file, "decoding");
            } finally {
                av_packet_unref(packet);
            }
        }
    }

    /** The current decoded frame (valid until the next {@link #next()}). */
    AVFrame frame() { return frame; }

    Path file() { return file; }

    @Override public void close() {
        if (decoder != null) avcodec_free_context(decoder);
        decoder = null;
        if (format != null) avformat_close_input(format);
        format = null;
        av_frame_free(frame);
        av_packet_free(packet);
    }

    private static double rate(AVRational r, double fallback) {
        return r != null && r.num() > 0 && r.den() > 0 ? av_q2d(r) : fallback;
    }
}
