package dev.tav4j.model.world;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.config.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The world on disk: GIFs that hold the 8-bit frames exactly, captions.jsonl with the ground truth, masks, world.json. */
class WorldDatasetTest {
    @Test void writesVideosCaptionsMasksAndReadsThemBack(@TempDir Path dir) throws Exception {
        World w = new World(32, 32, 4);
        List<Sample> samples = WorldDataset.write(w, dir, new WorldDataset.Spec(9, 3, Split.TRAIN, WorldDataset.Format.GIF, 8, true));
        List<WorldDataset.Entry> entries = WorldDataset.read(dir);
        assertEquals(3, entries.size());
        for (int i = 0; i < 3; i++) {
            Sample s = samples.get(i);
            WorldDataset.Entry e = entries.get(i);
            assertEquals(dir.resolve(String.format("%05d.gif", i)), e.file());
            assertEquals(s.caption(), e.caption());
            assertEquals(Split.TRAIN, e.split());
            assertEquals(s.scene().attributes(), e.attributes());
            assertArrayEquals(s.centroids()[3], e.centroids()[3], 1e-12);
            // the GIF holds the frames rounded to 8 bits exactly (under 256 colours a frame)
            WorldVideo back = WorldVideo.ofImages(gifFrames(e.file()));
            assertArrayEquals(s.video().quantised().rgb(), back.rgb(), 1e-6f);
            BufferedImage mask = ImageIO.read(dir.resolve(String.format("masks/%05d.png", i)).toFile());
            assertEquals(32 * 4, mask.getWidth());
            assertEquals(Math.round(s.alpha()[2][16 * 32 + 16] * 255), mask.getRaster().getSample(2 * 32 + 16, 16, 0));
        }
        JsonNode m = Json.read(dir.resolve(WorldDataset.MANIFEST));
        assertEquals(9, m.get("seed").asLong());
        assertTrue(m.get("held_out_rule").asText().contains("% 7 == 0"));
        assertTrue(m.get("command").asText().startsWith("tav world --seed 9 --count 3 --width 32 --height 32 --frames 4 --split train"));
    }

    /** Every frame of a GIF, by the JDK's GIF reader (the model module has no FFmpeg; the video module's tests read GIFs with it). */
    static List<BufferedImage> gifFrames(Path gif) throws Exception {
        ImageReader reader = ImageIO.getImageReadersByFormatName("gif").next();
        try (ImageInputStream in = ImageIO.createImageInputStream(gif.toFile())) {
            reader.setInput(in);
            List<BufferedImage> out = new ArrayList<>();
            for (int i = 0, n = reader.getNumImages(true); i < n; i++) out.add(reader.read(i));
            return out;
        } finally {
            reader.dispose();
        }
    }

    @Test void stillsArePngs(@TempDir Path dir) throws Exception {
        List<Sample> s = WorldDataset.write(new World(24, 16, 1), dir, new WorldDataset.Spec(1, 2, Split.EVAL, WorldDataset.Format.PNG, 8, false));
        BufferedImage im = ImageIO.read(dir.resolve("00001.png").toFile());
        assertArrayEquals(s.get(1).video().quantised().rgb(), WorldVideo.ofImages(List.of(im)).rgb(), 1e-6f);
        assertEquals(Split.EVAL, WorldDataset.read(dir).get(1).split());
        assertTrue(!Files.exists(dir.resolve("masks")));
        assertThrows(IllegalArgumentException.class,
                () -> WorldDataset.write(new World(24, 16, 2), dir, new WorldDataset.Spec(1, 1, Split.ALL, WorldDataset.Format.PNG, 8, false)));
    }
}
