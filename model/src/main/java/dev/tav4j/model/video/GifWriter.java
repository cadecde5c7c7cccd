package dev.tav4j.model.video;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes frames as a looping animated GIF with the JDK's GIF encoder, each frame with its own adaptive palette of
 * up to 256 colours (see {@link Palette}); the file appears atomically. MP4 is the near-lossless output.
 */
public final class GifWriter {
    private GifWriter() {}

    /** How pixels map to a frame's palette. */
    public enum Dither {
        /** Nearest palette colour: what the official code's GIFs get (Pillow's adaptive quantize does not dither). */
        NONE,
        /** Floyd–Steinberg error diffusion: smoother gradients, at the cost of grain and larger files. */
        FLOYD_STEINBERG
    }

    /** frames: RGB images; delayMs per frame (GIF stores hundredths of a second); no dithering. */
    public static void write(Path file, List<BufferedImage> frames, int delayMs) throws IOException {
        write(file, frames, delayMs, Dither.NONE);
    }

    public static void write(Path file, List<BufferedImage> frames, int delayMs, Dither dither) throws IOException {
        if (frames.isEmpty()) throw new IllegalArgumentException("no frames to write to " + file);
        AtomicFiles.write(file, tmp -> encode(tmp, frames, delayMs, dither));
    }

    private static void encode(Path tmp, List<BufferedImage> frames, int delayMs, Dither dither) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
        Palette palette = new Palette(dither);
        try (ImageOutputStream out = ImageIO.createImageOutputStream(tmp.toFile())) {
            writer.setOutput(out);
            writer.prepareWriteSequence(null);
            for (BufferedImage img : frames) {
                BufferedImage indexed = palette.toIndexed(img);
                ImageWriteParam param = writer.getDefaultWriteParam();
                IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(indexed), param);
                annotate(meta, delayMs);
                writer.writeToSequence(new IIOImage(indexed, null, meta), param);
            }
            writer.endWriteSequence();
        } finally {
            writer.dispose();
        }
    }

    private static void annotate(IIOMetadata meta, int delayMs) throws IOException {
        String fmt = meta.getNativeMetadataFormatName();
        IIOMetadataNode root = (IIOMetadataNode) meta.getAsTree(fmt);
        IIOMetadataNode gce = child(root, "GraphicControlExtension");
        gce.setAttribute("disposalMethod", "none");
        gce.setAttribute("userInputFlag", "FALSE");
        gce.setAttribute("transparentColorFlag", "FALSE");
        gce.setAttribute("delayTime", Integer.toString(Math.max(1, delayMs / 10)));
        gce.setAttribute("transparentColorIndex", "0");
        IIOMetadataNode apps = child(root, "ApplicationExtensions");
        IIOMetadataNode app = new IIOMetadataNode("ApplicationExtension");
        app.setAttribute("applicationID", "NETSCAPE");
        app.setAttribute("authenticationCode", "2.0");
        app.setUserObject(new byte[]{1, 0, 0}); // loop forever
        apps.appendChild(app);
        meta.setFromTree(fmt, root);
    }

    private static IIOMetadataNode child(IIOMetadataNode root, String name) {
        for (int i = 0; i < root.getLength(); i++)
            if (root.item(i).getNodeName().equalsIgnoreCase(name)) return (IIOMetadataNode) root.item(i);
        IIOMetadataNode n = new IIOMetadataNode(name);
        root.appendChild(n);
        return n;
    }
}
