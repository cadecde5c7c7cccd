package dev.tav4j.video;

import dev.tav4j.model.video.VideoClip;
import dev.tav4j.model.video.VideoException;
import dev.tav4j.model.video.VideoSampling;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Reads the frames Tune-A-Video trains on: frames {@code start, start + rate, …} of a video (MP4, MOV, WebM,
 * GIF — anything FFmpeg demuxes) or of a folder of images (PNG/JPEG, sorted by name), each resized straight to
 * width×height by the same FFmpeg scaler the official reader uses (see {@link ScaleGraph}). The whole stream
 * is decoded so that the frame count is exact; only the sampled frames are scaled.
 */
public final class VideoReader {
    private VideoReader() {}

    /** The clip sampled from {@code file}; a VideoException naming the file when it cannot be. */
    public static VideoClip read(Path file, VideoSampling sampling) {
        if (sampling.width() % 8 != 0 || sampling.height() % 8 != 0)
            throw new VideoException("cannot read " + file + " at " + sampling.width() + "x" + sampling.height()
                    + ": width and height must be multiples of 8 (the VAE downsamples by 8)");
        if (!Files.exists(file)) throw new VideoException("video not found: " + file.toAbsolutePath());
        return Files.isDirectory(file) ? readFolder(file, sampling) : readVideo(file, sampling);
    }

    /**
     * Every frame of a video, or every image of a folder (sorted by name), at its own size as 8-bit RGB (FFmpeg's
     * decoder and colour conversion, no resize): what an evaluation scores. A VideoException naming the file when it
     * cannot be read or holds no frame.
     */
    public static List<BufferedImage> readAll(Path file) {
        if (!Files.exists(file)) throw new VideoException("video not found: " + file.toAbsolutePath());
        if (Files.isDirectory(file)) {
            List<Path> images = images(file);
            if (images.isEmpty()) throw new VideoException("no .png/.jpg/.jpeg images in folder " + file);
            List<BufferedImage> frames = new ArrayList<>(images.size());
            for (Path image : images) frames.addAll(readAllFrames(image, 1));
            return frames;
        }
        if (!Files.isReadable(file)) throw new VideoException("video not readable: " + file.toAbsolutePath());
        return readAllFrames(file, Integer.MAX_VALUE);
    }

    /**
     * Decodes the first frame of a video (or the first image of a folder) and nothing more: a cheap check that
     * {@link #readAll} can read it, failing with the same VideoException.
     */
    public static void probe(Path file) {
        if (!Files.exists(file)) throw new VideoException("video not found: " + file.toAbsolutePath());
        if (Files.isDirectory(file)) {
            List<Path> images = images(file);
            if (images.isEmpty()) throw new VideoException("no .png/.jpg/.jpeg images in folder " + file);
            readAllFrames(images.getFirst(), 1);
        } else {
            if (!Files.isReadable(file)) throw new VideoException("video not readable: " + file.toAbsolutePath());
            readAllFrames(file, 1);
        }
    }

    /** Up to {@code max} frames of {@code file}, each converted to RGB at the first frame's size. */
    private static List<BufferedImage> readAllFrames(Path file, int max) {
        List<BufferedImage> frames = new ArrayList<>();
        ScaleGraph scaler = null;
        try (FfmpegSource source = FfmpegSource.open(file)) {
            while (frames.size() < max && source.next()) {
                if (scaler == null) scaler = new ScaleGraph(file, source.frame().width(), source.frame().height());
                frames.add(scaler.scale(source.frame()));
            }
        } finally {
            if (scaler != null) scaler.close();
        }
        if (frames.isEmpty()) throw new VideoException(file + " has no decodable video frames");
        return frames;
    }

    private static VideoClip readVideo(Path file, VideoSampling s) {
        if (!Files.isReadable(file)) throw new VideoException("video not readable: " + file.toAbsolutePath());
        List<BufferedImage> frames = new ArrayList<>(s.frames());
        int count = 0;
        try (FfmpegSource source = FfmpegSource.open(file); ScaleGraph scaler = new ScaleGraph(file, s.width(), s.height())) {
            while (source.next()) {
                if (s.samples(count)) frames.add(scaler.scale(source.frame()));
                count++;
            }
            if (count == 0) throw new VideoException(file + " has no decodable video frames");
            requireEnough(file, count, s);
            return new VideoClip(frames, count, source.fps(), s.indices());
        }
    }

    private static VideoClip readFolder(Path dir, VideoSampling s) {
        List<Path> images = images(dir);
        if (images.isEmpty()) throw new VideoException("no .png/.jpg/.jpeg images in folder " + dir);
        requireEnough(dir, images.size(), s);
        List<BufferedImage> frames = new ArrayList<>(s.frames());
        for (int i : s.indices()) {
            Path image = images.get(i);
            try (FfmpegSource source = FfmpegSource.open(image); ScaleGraph scaler = new ScaleGraph(image, s.width(), s.height())) {
                if (!source.next()) throw new VideoException(image + " has no decodable image");
                frames.add(scaler.scale(source.frame()));
            }
        }
        return new VideoClip(frames, images.size(), 0, s.indices());
    }

    /** The .png/.jpg/.jpeg files of {@code dir}, sorted by file name. */
    static List<Path> images(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(Files::isRegularFile).filter(VideoReader::isImage)
                    .sorted((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString())).toList();
        } catch (IOException e) {
            throw new VideoException("cannot list image folder " + dir + ": " + e.getMessage(), e);
        }
    }

    private static boolean isImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
    }

    private static void requireEnough(Path file, int count, VideoSampling s) {
        if (count > s.lastIndex()) return;
        throw new VideoException(file + " has " + count + " frames; sampling start " + s.startIndex() + " rate "
                + s.frameRate() + " needs " + (s.lastIndex() + 1) + " frames for " + s.frames() + " sampled frames"
                + " (fewer frames, a lower rate or an earlier start would fit)");
    }
}
