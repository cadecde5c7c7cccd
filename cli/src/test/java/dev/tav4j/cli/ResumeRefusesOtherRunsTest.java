package dev.tav4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Issue 12: --resume continues only the same run, says so when there is nothing to resume, and reports real results. */
class ResumeRefusesOtherRunsTest {
    private static Tav.Run tune(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("tune", "--model", Tav.tinyModel().toString(), "--video", Tav.video("man-skiing.mp4").toString(),
                "--height", "64", "--width", "64", "--out", out.toString()));
        a.addAll(List.of(more));
        if (!a.contains("--frames")) a.addAll(List.of("--frames", "2"));
        if (!a.contains("--prompt")) a.addAll(List.of("--prompt", "a man is skiing"));
        if (!a.contains("--steps")) a.addAll(List.of("--steps", "2"));
        return Tav.run(a.toArray(String[]::new));
    }

    private static String lastLine(Tav.Run r) {
        return r.err().strip().lines().reduce((x, y) -> y).orElse("");
    }

    @Test
    void resumeWithNoCheckpointStopsUnlessAskedToStart(@TempDir Path dir) {
        Path out = dir.resolve("out");
        Tav.Run r = tune(out, "--resume", "--steps", "1");
        assertEquals(1, r.code(), r.all());
        assertTrue(lastLine(r).contains("no complete checkpoint") && lastLine(r).contains("--resume-or-start"), r.err());
        assertFalse(Files.exists(out.resolve("unet")), "nothing tuned");
    }

    @Test
    void resumeRefusesAnotherRunAndReportsTheRealLastLoss(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        Tav.Run first = tune(out, "--checkpoint-every", "1");
        assertEquals(0, first.code(), first.all());
        assertTrue(Files.isDirectory(out.resolve("checkpoint-2")));

        // another seed, prompt, learning rate and frame count: each is named
        Tav.Run other = tune(out, "--resume", "--seed", "34", "--prompt", "a man is surfing", "--lr", "1e-4", "--frames", "3");
        assertEquals(1, other.code(), other.all());
        String line = lastLine(other);
        for (String k : List.of("another run", "seed '33' there, '34' now", "prompt 'a man is skiing' there", "lr ", "frames '2' there, '3' now"))
            assertTrue(line.contains(k), "names " + k + ": " + line);
        assertFalse(other.all().contains("loaded"), "refused before loading");

        // fewer steps than the checkpoint has: refused, not "last loss NaN"
        Tav.Run fewer = tune(out, "--resume", "--steps", "1");
        assertEquals(1, fewer.code(), fewer.all());
        assertTrue(lastLine(fewer).contains("step 2") && lastLine(fewer).contains("past the 1 steps"), fewer.err());

        // a finished run resumed: the checkpoint's loss, and no old checkpoints listed as this run's outputs
        Tav.Run done = tune(out, "--resume");
        assertEquals(0, done.code(), done.all());
        assertFalse(done.out().contains("NaN"), done.out());
        assertTrue(done.out().matches("(?s).*last loss \\d+\\.\\d+.*"), done.out());
        assertFalse(done.out().contains("checkpoint:"), "no checkpoint written by this run: " + done.out());
    }

    @Test
    void anOldCheckpointWithoutARunRecordResumesWithOneLineNamingWhatIsUnchecked(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        assertEquals(0, tune(out, "--checkpoint-every", "1", "--steps", "1").code());
        // as an older tav4j wrote it: state.json without "run"
        Path state = out.resolve("checkpoint-1/state.json");
        var json = (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper().readTree(state.toFile());
        json.remove("run");
        Files.writeString(state, json.toPrettyString());
        Tav.Run r = tune(out, "--resume", "--steps", "1");
        assertEquals(0, r.code(), r.all());
        List<String> lines = r.err().lines().filter(l -> l.contains("records no run")).toList();
        assertEquals(1, lines.size(), r.err());
        String line = lines.getFirst();
        assertTrue(line.startsWith("warning: --resume: ") && line.contains("checkpoint-1"), line);
        for (String k : List.of("model", "video", "sampling", "frames", "size", "prompt", "seed", "lr", "trainable", "precision"))
            assertTrue(line.contains(k), "names " + k + ": " + line);
        assertFalse(r.err().contains("cannot check that it is the same run"), r.err());
    }

    @Test
    void aFreshRunInAnOldFolderListsOnlyItsOwnOutputs(@TempDir Path dir) {
        Path out = dir.resolve("out");
        assertEquals(0, tune(out, "--checkpoint-every", "1").code());
        Tav.Run fresh = tune(out, "--steps", "1");
        assertEquals(0, fresh.code(), fresh.all());
        assertFalse(fresh.out().contains("checkpoint-1") || fresh.out().contains("checkpoint-2"), fresh.out());
    }
}
