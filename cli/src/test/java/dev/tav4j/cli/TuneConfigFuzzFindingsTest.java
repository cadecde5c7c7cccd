package dev.tav4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Inputs TuneConfigFuzzTest found (minimized), each refused with a message naming the file and the key. */
class TuneConfigFuzzFindingsTest {
    @TempDir Path tmp;

    private void refused(String yaml, String... fragments) throws Exception {
        Path file = Files.writeString(tmp.resolve("c.yaml"), yaml);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TuneConfig.read(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
    }

    /** A NUL in a path ("\0" in a double-quoted YAML string) was InvalidPathException "Nul character not allowed". */
    @Test
    void nulInAPath() throws Exception {
        String rest = "train_data: {video_path: v.mp4, prompt: p}\nvalidation_data: {}\n";
        refused("pretrained_model_path: \"m\\0\"\noutput_dir: o\n" + rest, "pretrained_model_path", "not a valid path");
        refused("pretrained_model_path: m\noutput_dir: \"\\0\"\n" + rest, "output_dir");
        refused("pretrained_model_path: m\noutput_dir: o\ntrain_data: {video_path: \"v\\0.mp4\", prompt: p}\nvalidation_data: {}\n",
                "train_data.video_path");
    }
}
