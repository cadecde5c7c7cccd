package dev.tav4j.model.video;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * Composes clips into one clip of grids, frame by frame, as the official {@code save_videos_grid} does with
 * torchvision's {@code make_grid}: up to {@code columns} clips per row, a 2-pixel black border around and between
 * cells, and a single clip returned unpadded. Every clip must have the same frame count and frame size.
 */
public final class VideoGrid {
    /** make_grid's default padding. */
    public static final int PADDING = 2;

    private VideoGrid() {}

    /** save_videos_grid's n_rows default, which make_grid takes as images per row. */
    public static final int SAVE_VIDEOS_GRID_ROWS = 4;

    /** The validation grid of train_tuneavideo.py (save_videos_grid(samples, path)): up to four clips side by side per row. */
    public static List<BufferedImage> validationGrid(List<List<BufferedImage>> clips) {
        return compose(clips, SAVE_VIDEOS_GRID_ROWS);
    }

    /** All clips in one row (e.g. input | edited). */
    public static List<BufferedImage> sideBySide(List<List<BufferedImage>> clips) {
        return compose(clips, clips.size());
    }

    /** Clips laid out {@code columns} to a row (make_grid's nrow), in reading order. */
    public static List<BufferedImage> compose(List<List<BufferedImage>> clips, int columns) {
        if (clips.isEmpty()) throw new IllegalArgumentException("no clips to compose");
        if (columns <= 0) throw new IllegalArgumentException("columns must be positive, got " + columns);
        int frames = clips.getFirst().size();
        if (frames == 0) throw new IllegalArgumentException("clip 0 has no frames");
        int w = clips.getFirst().getFirst().getWidth(), h = clips.getFirst().getFirst().getHeight();
        for (int c = 0; c < clips.size(); c++) {
            List<BufferedImage> clip = clips.get(c);
            if (clip.size() != frames)
                throw new IllegalArgumentException("clip " + c + " has " + clip.size() + " frames, clip 0 has " + frames);
            for (int f = 0; f < frames; f++)
                if (clip.get(f).getWidth() != w || clip.get(f).getHeight() != h)
                    throw new IllegalArgumentException("clip " + c + " frame " + f + " is " + clip.get(f).getWidth() + "x"
                            + clip.get(f).getHeight() + ", clip 0 is " + w + "x" + h);
        }
        if (clips.size() == 1) return List.copyOf(clips.getFirst());
        int cols = Math.min(columns, clips.size()), rows = (clips.size() + cols - 1) / cols;
        int gw = cols * (w + PADDING) + PADDING, gh = rows * (h + PADDING) + PADDING;
        List<BufferedImage> out = new ArrayList<>(frames);
        for (int f = 0; f < frames; f++) {
            BufferedImage grid = new BufferedImage(gw, gh, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = grid.createGraphics();
            g.setColor(Color.BLACK);
            g.fillRect(0, 0, gw, gh);
            for (int c = 0; c < clips.size(); c++)
                g.drawImage(clips.get(c).get(f), PADDING + (c % cols) * (w + PADDING), PADDING + (c / cols) * (h + PADDING), null);
            g.dispose();
            out.add(grid);
        }
        return out;
    }
}
