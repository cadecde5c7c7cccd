package dev.tav4j.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The subprocess contract with the PyTorch bench script, through fake "interpreters": shell scripts that receive
 * the script path and its options the way python would, and answer as the script does.
 */
class TorchBenchTest {
    private static final TorchBench.Spec SPEC = new TorchBench.Spec(Path.of("/models/unet"), 8, 32, 2, 1, "bf16", "cuda", 4,
            List.of("tune", "invert", "edit"));

    /** An executable shell script standing in for python. */
    static Path fake(Path dir, String body) throws Exception {
        Path p = dir.resolve("fake-python.sh");
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    /** Writes {@code json} to the file after --json, echoing every argument to a log file first. */
    static String writesJson(Path argsLog, String json) {
        return "echo \"$@\" > '" + argsLog + "'\n"
                + "while [ $# -gt 0 ]; do if [ \"$1\" = --json ]; then out=\"$2\"; fi; shift; done\n"
                + "echo 'fake torch: running'\n"
                + "printf '%s' '" + json + "' > \"$out\"\n";
    }

    @Test
    void passesTheSameWorkAndReadsTheResult(@TempDir Path dir) throws Exception {
        Path args = dir.resolve("args.txt");
        String json = "{\"torch\":\"9.9\",\"device\":\"Fake GPU\",\"precision\":\"bf16\",\"frames\":8,\"latent\":32,"
                + "\"stages\":{\"tune\":{\"ms_per_step\":120.5,\"peak_bytes\":1000},\"invert\":{\"ms_per_step\":30.0,\"peak_bytes\":null}}}";
        Path py = fake(dir, writesJson(args, json));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        TorchBench.Result r = TorchBench.run(py.toString(), Path.of("/s/tav_torch_bench.py"), SPEC, new PrintStream(log, true));
        assertEquals("9.9", r.torchVersion());
        assertEquals("Fake GPU", r.device());
        assertEquals(120.5, r.stage("tune").msPerStep());
        assertEquals(1000, r.stage("tune").peakBytes());
        assertEquals(-1, r.stage("invert").peakBytes(), "null peak (the CPU) reads as -1");
        assertNull(r.stage("edit"), "a stage the script did not report");
        String received = Files.readString(args).strip();
        assertTrue(received.startsWith("/s/tav_torch_bench.py --unet /models/unet --frames 8 --latent 32 --steps 2 --warmup 1 "
                + "--precision bf16 --device cuda --stages tune,invert,edit --json "), received);
        assertTrue(received.endsWith("--threads 4"), received);
        assertTrue(log.toString().contains("torch| fake torch: running"), "the script's output is echoed: " + log);
    }

    @Test
    void aMissingInterpreterIsNamed(@TempDir Path dir) {
        String missing = dir.resolve("no-such-python").toString();
        TorchBench.TorchBenchException e = assertThrows(TorchBench.TorchBenchException.class,
                () -> TorchBench.run(missing, Path.of("x.py"), SPEC, new PrintStream(new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains("--torch " + missing) && e.getMessage().contains("cannot run"), e.getMessage());
    }

    @Test
    void anInterpreterWithoutTorchIsNamedWithTheReason(@TempDir Path dir) throws Exception {
        Path py = fake(dir, "echo \"tav_torch_bench: cannot import torch with /fake/python: No module named 'torch'\" >&2\nexit 3");
        TorchBench.TorchBenchException e = assertThrows(TorchBench.TorchBenchException.class,
                () -> TorchBench.run(py.toString(), Path.of("x.py"), SPEC, new PrintStream(new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains(py.toString()) && e.getMessage().contains("not importable")
                && e.getMessage().contains("No module named 'torch'"), e.getMessage());
    }

    @Test
    void aFailingOrSilentScriptIsAnErrorWithItsOutput(@TempDir Path dir) throws Exception {
        Path py = fake(dir, "echo 'RuntimeError: CUDA out of memory'\nexit 1");
        TorchBench.TorchBenchException e = assertThrows(TorchBench.TorchBenchException.class,
                () -> TorchBench.run(py.toString(), Path.of("x.py"), SPEC, new PrintStream(new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains("exit status 1") && e.getMessage().contains("CUDA out of memory"), e.getMessage());
        Path silent = fake(dir, "exit 0");
        e = assertThrows(TorchBench.TorchBenchException.class,
                () -> TorchBench.run(silent.toString(), Path.of("x.py"), SPEC, new PrintStream(new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains("wrote no result"), e.getMessage());
        Path garbage = fake(dir, writesJson(dir.resolve("a.txt"), "not json"));
        e = assertThrows(TorchBench.TorchBenchException.class,
                () -> TorchBench.run(garbage.toString(), Path.of("x.py"), SPEC, new PrintStream(new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains("not JSON"), e.getMessage());
    }

    @Test
    void theScriptsAreFoundInTheCheckoutOrThePackedCopy() throws Exception {
        Path script = TorchScripts.locate(TorchScripts.BENCH);
        assertTrue(Files.isRegularFile(script), script.toString());
        assertTrue(Files.isRegularFile(script.resolveSibling("tav_unet3d.py")) && Files.isRegularFile(script.resolveSibling("st_io.py")));
        assertTrue(Files.readString(script).contains("def stage_tune"), "the bench script itself: " + script);
    }
}
