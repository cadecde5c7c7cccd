package dev.tav4j.video;

import dev.tav4j.model.video.AtomicFiles;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.bytedeco.javacv.Frame;
import org.bytedeco.javacv.FrameRecorder;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes frames as an H.264 MP4 (yuv420p) with the BSD-licensed OpenH264 encoder of the bytedeco LGPL FFmpeg build
 * the video module depends on; libx264 at CRF 18 instead when a -gpl build is put on the class path, MPEG-4 Part 2
 * when a build has neither. The file appears atomically: it is encoded under a temporary name in the same folder,
 * then moved.
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
        if (frames.isEmpty()) throw new IllegalArgumentException("no frames to write to " + file);
        if (!(fps > 0) || Double.isInfinite(fps)) throw new IllegalArgumentException("fps must be positive to write " + file + ", got " + fps);
        int w = frames.getFirst().getWidth(), h = frames.getFirst().getHeight();
        if (w % 2 != 0 || h % 2 != 0)
            throw new IllegalArgumentException("cannot write " + file + ": H.264 yuv420p needs an even width and height, got " + w + "x" + h);
        for (int i = 0; i < frames.size(); i++)
            if (frames.get(i).getWidth() != w || frames.get(i).getHeight() != h)
                throw new IllegalArgumentException("cannot write " + file + ": frame " + i + " is " + frames.get(i).getWidth() + "x"
                        + frames.get(i).getHeight() + ", frame 0 is " + w + "x" + h);
        AtomicFiles.write(file, tmp -> encode(tmp, frames, fps, w, h));
    }

    private static void encode(Path tmp, List<BufferedImage> frames, double fps, int w, int h) throws IOException {
        String encoder = encoder();
        try (FFmpegFrameRecorder rec = new FFmpegFrameRecorder(tmp.toFile(), w, h, 0)) {
            rec.setFormat("mp4");
            rec.setVideoCodecName(encoder);
            if (encoder.equals("mpeg4")) rec.setVideoCodec(avcodec.AV_CODEC_ID_MPEG4);
            rec.setPixelFormat(avutil.AV_PIX_FMT_YUV420P);
            rec.setFrameRate(fps);
            rec.setGopSize(Math.max(1, (int) Math.round(fps * 2)));
            if (encoder.equals("libx264")) {
                rec.setVideoOption("crf", "18");
                rec.setVideoOption("preset", "medium");
            } else {
                rec.setVideoQuality(2); // qscale for mpeg4; a high bitrate for openh264
                rec.setVideoBitrate(Math.max(400_000, w * h * 8));
            }
            rec.setOption("movflags", "+faststart");
            rec.start();
            Frame frame = new Frame(w, h, Frame.DEPTH_UBYTE, 3);
            for (BufferedImage img : frames) {
                fill(frame, img);
                rec.record(frame, avutil.AV_PIX_FMT_RGB24);
            }
            rec.stop();
        } catch (FrameRecorder.Exception e) {
            throw new IOException("cannot encode " + frames.size() + " frames with " + encoder + " into " + tmp + ": " + Ffmpeg.message(e), e);
        }
    }

    private static void fill(Frame frame, BufferedImage img) {
        ByteBuffer buf = (ByteBuffer) frame.image[0];
        int w = img.getWidth(), h = img.getHeight(), stride = frame.imageStride;
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            int o = y * stride;
            for (int x = 0; x < w; x++) {
                int rgb = row[x];
                buf.put(o + 3 * x, (byte) (rgb >> 16));
                buf.put(o + 3 * x + 1, (byte) (rgb >> 8));
                buf.put(o + 3 * x + 2, (byte) rgb);
            }
        }
    }
}
