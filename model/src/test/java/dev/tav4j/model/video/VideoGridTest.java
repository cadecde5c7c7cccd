package dev.tav4j.model.video;

import org.junit.jupiter.api.Test;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Grids laid out like torchvision's make_grid (padding 2, black). */
class VideoGridTest {
    private static List<BufferedImage> solid(int frames, int w, int h, Color c) {
        List<BufferedImage> out = new ArrayList<>();
        for (int i = 0; i < frames; i++) {
            BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
            var g = img.createGraphics();
            g.setColor(c);
            g.fillRect(0, 0, w, h);
            g.dispose();
            out.add(img);
        }
        return out;
    }

    @Test
    void sideBySidePlacesClipsWithTwoPixelBorders() {
        List<BufferedImage> grid = VideoGrid.sideBySide(List.of(solid(3, 10, 6, Color.RED), solid(3, 10, 6, Color.BLUE)));
        assertEquals(3, grid.size());
        BufferedImage f = grid.get(2);
        assertEquals(2 * (10 + 2) + 2, f.getWidth());
        assertEquals(6 + 4, f.getHeight());
        assertEquals(0, f.getRGB(0, 0) & 0xffffff, "border");
        assertEquals(0, f.getRGB(12, 5) & 0xffffff, "gap between cells");
        assertEquals(Color.RED.getRGB(), f.getRGB(2, 2));
        assertEquals(Color.RED.getRGB(), f.getRGB(11, 7));
        assertEquals(Color.BLUE.getRGB(), f.getRGB(14, 2));
        assertEquals(Color.BLUE.getRGB(), f.getRGB(23, 7));
        assertEquals(0, f.getRGB(25, 9) & 0xffffff);
    }

    @Test
    void wrapsIntoRowsAndLeavesEmptyCellsBlack() {
        List<List<BufferedImage>> clips = List.of(solid(1, 4, 4, Color.RED), solid(1, 4, 4, Color.GREEN), solid(1, 4, 4, Color.BLUE));
        BufferedImage f = VideoGrid.compose(clips, 2).getFirst();
        assertEquals(2 * 6 + 2, f.getWidth());
        assertEquals(2 * 6 + 2, f.getHeight());
        assertEquals(Color.BLUE.getRGB(), f.getRGB(3, 9), "third clip starts the second row");
        assertEquals(0, f.getRGB(9, 9) & 0xffffff, "no fourth clip");
    }

    @Test
    void singleClipIsReturnedUnpadded() {
        List<BufferedImage> one = solid(2, 8, 8, Color.GREEN);
        assertEquals(8, VideoGrid.sideBySide(List.of(one)).getFirst().getWidth());
    }

    @Test
    void rejectsClipsThatDoNotLineUp() {
        var frames = assertThrows(IllegalArgumentException.class, () -> VideoGrid.sideBySide(List.of(solid(3, 8, 8, Color.RED), solid(2, 8, 8, Color.RED))));
        assertTrue(frames.getMessage().contains("clip 1 has 2 frames"), frames.getMessage());
        var size = assertThrows(IllegalArgumentException.class, () -> VideoGrid.sideBySide(List.of(solid(2, 8, 8, Color.RED), solid(2, 8, 6, Color.RED))));
        assertTrue(size.getMessage().contains("clip 1 frame 0 is 8x6"), size.getMessage());
    }

    /** Issue 12: train_tuneavideo.py's sample-N.gif is save_videos_grid(n_rows=4): make_grid puts four to a row, padding 2. */
    @Test
    void validationGridPutsFourPromptsSideBySidePerRow() {
        List<List<BufferedImage>> two = List.of(solid(1, 64, 64, Color.RED), solid(1, 64, 64, Color.BLUE));
        BufferedImage g = VideoGrid.validationGrid(two).getFirst();
        assertEquals(2 * (64 + 2) + 2, g.getWidth());   // 134 wide, 68 high: side by side, not stacked
        assertEquals(64 + 2 + 2, g.getHeight());
        List<List<BufferedImage>> five = new ArrayList<>();
        for (int i = 0; i < 5; i++) five.add(solid(1, 8, 6, Color.GREEN));
        BufferedImage g5 = VideoGrid.validationGrid(five).getFirst();
        assertEquals(4 * (8 + 2) + 2, g5.getWidth());
        assertEquals(2 * (6 + 2) + 2, g5.getHeight());
        assertEquals(Color.GREEN.getRGB(), g5.getRGB(2, 2 + 6 + 2));  // the fifth starts the second row
        assertEquals(0xff000000, g5.getRGB(2 + 8 + 2, 2 + 6 + 2));   // with black padding where the sixth would be
    }
}
