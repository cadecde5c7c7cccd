package dev.tav4j.video;

import dev.tav4j.model.video.AtomicFiles;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVIOContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.avutil.AVRational;
import org.bytedeco.ffmpeg.swscale.SwsContext;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.bytedeco.ffmpeg.global.avcodec.*;
import static org.bytedeco.ffmpeg.global.avformat.*;
import static org.bytedeco.ffmpeg.global.avutil.*;
import static org.bytedeco.ffmpeg.global.swscale.*;

/**
 * Writes frames as an H.264 MP4 (yuv420p) with the BSD-licensed OpenH264 encoder of the bytedeco LGPL FFmpeg build
 * the video module depends on; libx264 at CRF 18 instead when a -gpl build is put on the class path, MPEG-4 Part 2
 * when a build has neither; libavcodec/libavformat directly (no JavaCV), RGB to yuv420p by libswscale (bilinear, as
 * JavaCV's recorder did). The file appears atomically: it is encoded under a temporary name in the same folder, then
 * moved.
 */
public final class Mp4Writer {
    private Mp4Writer() {}

    /** The encoder this FFmpeg build will use: libx264, libopenh264 or mpeg4. */
    public static String encoder() {
        if (Ffmpeg.hasEncoder("libx264")) return "libx264";
        if (Ffmpeg.hasEncoder("libopenh264")) return "libopenh264";
        return "mpeg4";
    }

    public static void write(Path file, List<BufferedImage> frames, double fps) throws IOException {
        write(file, frames, fps, encoder());
    }

    /** With the encoder named (libx264, libopenh264 or mpeg4): the tests reach each path this build has. */
    static void write(Path file, List<BufferedImage> frames, double fps, String encoder) throws IOException {
        if (frames.isEmpty()) throw new IllegalArgumentException("no frames to write to " + file);
        if (!(fps > 0) || Double.isInfinite(fps)) throw new IllegalArgumentException("fps must be positive to write " + file + ", got " + fps);
        int w = frames.getFirst().getWidth(), h = frames.getFirst().getHeight();
        if (w % 2 != 0 || h % 2 != 0)
            throw new IllegalArgumentException("cannot write " + file + ": H.264 yuv420p needs an even width and height, got " + w + "x" + h);
        for (int i = 0; i < frames.size(); i++)
            if (frames.get(i).getWidth() != w || frames.get(i).getHeight() != h)
                throw new IllegalArgumentException("cannot write " + file + ": frame " + i + " is " + frames.get(i).getWidth() + "x"
                        + frames.get(i).getHeight() + ", frame 0 is " + w + "x" + h);
        AtomicFiles.write(file, tmp -> encode(tmp, frames, fps, w, h, encoder));
    }

    private static void encode(Path tmp, List<BufferedImage> frames, double fps, int w, int h, String encoder) throws IOException {
        String what = "cannot encode " + frames.size() + " frames with " + encoder + " into " + tmp;
        AVFormatContext out = new AVFormatContext(null);
        AVCodecContext enc = null;
        SwsContext rgbToYuv = null;
        AVFrame yuv = av_frame_alloc();
        AVPacket packet = av_packet_alloc();
        AVDictionary codecOptions = new AVDictionary(null), muxOptions = new AVDictionary(null);
        BytePointer rgb = new BytePointer((long) w * h * 3);
        try {
            check(avformat_alloc_output_context2(out, null, "mp4", tmp.toString()), what, "the mp4 muxer");
            AVCodec codec = avcodec_find_encoder_by_name(encoder);
            if (codec == null) throw new IOException(what + ": this FFmpeg build has no " + encoder + " encoder");
            AVStream stream = avformat_new_stream(out, null);
            enc = avcodec_alloc_context3(codec);
            AVRational frameRate = av_d2q(fps, 1001000), timeBase = av_inv_q(frameRate);
            enc.width(w).height(h).pix_fmt(AV_PIX_FMT_YUV420P).time_base(timeBase).gop_size(Math.max(1, (int) Math.round(fps * 2)));
            if ((out.oformat().flags() & AVFMT_GLOBALHEADER) != 0) enc.flags(enc.flags() | AV_CODEC_FLAG_GLOBAL_HEADER);
            if (encoder.equals("libx264")) {
                av_dict_set(codecOptions, "crf", "18", 0);
                av_dict_set(codecOptions, "preset", "medium", 0);
            } else {
                // qscale 2 for mpeg4; a high bitrate for openh264
                enc.flags(enc.flags() | AV_CODEC_FLAG_QSCALE).global_quality(2 * FF_QP2LAMBDA);
                enc.bit_rate(Math.max(400_000L, (long) w * h * 8));
            }
            check(avcodec_open2(enc, codec, codecOptions), what, "opening the encoder");
            check(avcodec_parameters_from_context(stream.codecpar(), enc), what, "stream parameters");
            stream.time_base(timeBase).avg_frame_rate(frameRate);
            AVIOContext io = new AVIOContext(null);
            check(avio_open(io, tmp.toString(), AVIO_FLAG_WRITE), what, "opening the file");
            out.pb(io);
            av_dict_set(muxOptions, "movflags", "+faststart", 0);
            check(avformat_write_header(out, muxOptions), what, "writing the header");

            yuv.format(AV_PIX_FMT_YUV420P).width(w).height(h);
            check(av_frame_get_buffer(yuv, 0), what, "a frame buffer");
            rgbToYuv = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUV420P, SWS_BILINEAR, null, null, (DoublePointer) null);
            if (rgbToYuv == null) throw new IOException(what + ": no RGB to YUV converter");
            PointerPointer<?> rgbPlanes = new PointerPointer<>(1).put(0, rgb);
            IntPointer rgbStride = new IntPointer(1).put(0, w * 3);
            byte[] row = new byte[w * 3];
            for (int i = 0; i < frames.size(); i++) {
                fill(rgb, row, frames.get(i));
                check(av_frame_make_writable(yuv), what, "a frame buffer");
                sws_scale(rgbToYuv, rgbPlanes, rgbStride, 0, h, yuv.data(), yuv.linesize());
                yuv.pts(i).duration(1);
                check(avcodec_send_frame(enc, yuv), what, "encoding frame " + i);
                drain(enc, out, stream, packet, what);
            }
            check(avcodec_send_frame(enc, null), what, "flushing the encoder");
            drain(enc, out, stream, packet, what);
            check(av_write_trailer(out), what, "writing the trailer");
        } finally {
            if (out.pb() != null) avio_closep(out.pb());
            avformat_free_context(out);
            if (enc != null) avcodec_free_context(enc);
            if (rgbToYuv != null) sws_freeContext(rgbToYuv);
            av_frame_free(yuv);
            av_packet_free(packet);
            av_dict_free(codecOptions);
            av_dict_free(muxOptions);
            rgb.close();
        }
    }

    /** Writes every packet the encoder has ready. */
    private static void drain(AVCodecContext enc, AVFormatContext out, AVStream stream, AVPacket packet, String what) throws IOException {
        while (true) {
            int r = avcodec_receive_packet(enc, packet);
            if (r == AVERROR_EAGAIN() || r == AVERROR_EOF) return;
            check(r, what, "encoding");
            av_packet_rescale_ts(packet, enc.time_base(), stream.time_base());
            packet.stream_index(stream.index());
            check(av_interleaved_write_frame(out, packet), what, "writing a packet");
        }
    }

    private static void check(int ret, String what, String step) throws IOException {
        if (ret < 0) throw new IOException(what + ": " + step + ": " + Ffmpeg.describe(ret));
    }

    /** The image's pixels as packed RGB24 into {@code rgb}. */
    private static void fill(BytePointer rgb, byte[] row, BufferedImage img) {
        int w = img.getWidth(), h = img.getHeight();
        int[] px = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, px, 0, w);
            for (int x = 0; x < w; x++) {
                int p = px[x];
                row[3 * x] = (byte) (p >> 16);
                row[3 * x + 1] = (byte) (p >> 8);
                row[3 * x + 2] = (byte) p;
            }
            rgb.position((long) y * w * 3).put(row);
        }
        rgb.position(0);
    }
}
