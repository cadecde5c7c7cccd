package dev.tav4j.cli;

import dev.tav4j.bench.WeightsExport;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.pipeline.RandomWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** tav bench weights and tav bench pipeline (with a fake PyTorch side: a shell script answering as the script does). */
class BenchPipelineCommandTest {
    private static UNetConfig tiny() {
        return new UNetConfig("UNet3DConditionModel", 4, 4, new int[]{16, 32}, 1, 8, 1e-5f, 24, new int[]{2, 4}, false,
                List.of("CrossAttnDownBlock3D", "DownBlock3D"), List.of("UpBlock3D", "CrossAttnUpBlock3D"), true, 0, 1, false, 8, null);
    }

    @Test
    void benchWeightsWritesAFolderTheLoaderReads(@TempDir Path dir) {
        Tav.Run r = Tav.run("bench", "weights", "--model", "anchor", "--out", dir.resolve("anchor").toString());
        assertEquals(0, r.code(), r.all());
        UNetConfig cfg = CheckpointDir.unetFolderConfig(dir.resolve("anchor"));
        assertTrue(cfg.is3D());
        assertArrayEquals(new int[]{64, 128, 256, 256}, cfg.blockOutChannels());
        String last = r.out().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.startsWith("{\"bench\":\"weights\"") && last.contains("\"bytes\":"), last);
    }

    @Test
    void pipelineWithTorchPrintsBothSidesAndTheRatio(@TempDir Path dir) throws Exception {
        Path unet = WeightsExport.write(tiny(), new RandomWeights("unet", 1), dir.resolve("unet"));
        Path args = dir.resolve("args.txt");
        Path fake = dir.resolve("python.sh");
        Files.writeString(fake, "#!/bin/sh\nif [ \"$1\" = -c ]; then echo 0.0-fake; exit 0; fi\necho \"$@\" > '" + args + "'\n"
                + "while [ $# -gt 0 ]; do if [ \"$1\" = --json ]; then out=\"$2\"; fi; shift; done\n"
                + "printf '%s' '{\"torch\":\"0.0-fake\",\"device\":\"cpu\",\"stages\":{\"edit\":{\"ms_per_step\":1.0e7,\"peak_bytes\":null}}}' > \"$out\"\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path json = dir.resolve("out/result.json");
        Tav.Run r = Tav.run("bench", "pipeline", "--unet", unet.toString(), "--frames", "2", "--latent", "8", "--steps", "1",
                "--warmup", "0", "--stages", "edit", "--torch", fake.toString(), "--json", json.toString());
        assertEquals(0, r.code(), r.all());
        String received = Files.readString(args);
        assertTrue(received.contains("--unet " + unet) && received.contains("--frames 2 --latent 8 --steps 1 --warmup 0 --precision fp32 --device cpu --stages edit"),
                received);
        assertTrue(r.out().contains("PyTorch 0.0-fake") && r.out().contains("guided editing step") && r.out().contains("PyTorch/tav4j"), r.out());
        String last = r.out().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.startsWith("{\"bench\":\"pipeline\"") && last.contains("\"ratio_torch_over_tav4j\":{\"edit\":"), last);
        // 1e7 ms for PyTorch's fake step: the ratio is far above 1 (tav4j faster) whatever this machine's speed
        double ratio = Double.parseDouble(last.replaceAll(".*\"ratio_torch_over_tav4j\":\\{\"edit\":([0-9.Ee+-]+).*", "$1"));
        assertTrue(ratio > 1, last);
        assertEquals(last, Files.readString(json).strip());
    }

    @Test
    void aMissingPythonOrTorchIsNamedBeforeAnyWeightsAreWritten(@TempDir Path dir) throws Exception {
        String missing = dir.resolve("nope/python3").toString();
        Tav.Run r = Tav.run("bench", "pipeline", "--model", "anchor", "--frames", "1", "--latent", "8", "--steps", "1", "--torch", missing);
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("--torch " + missing) && r.err().contains("cannot run"), r.err());
        assertTrue(!r.err().contains("writing the"), "checked before writing weights: " + r.err());
        Path noTorch = dir.resolve("python-without-torch.sh");
        Files.writeString(noTorch, "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n");
        Files.setPosixFilePermissions(noTorch, PosixFilePermissions.fromString("rwxr-xr-x"));
        r = Tav.run("bench", "pipeline", "--model", "anchor", "--frames", "1", "--latent", "8", "--steps", "1", "--torch", noTorch.toString());
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("--torch " + noTorch) && r.err().contains("No module named 'torch'"), r.err());
    }
}
