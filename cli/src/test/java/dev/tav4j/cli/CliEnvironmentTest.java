package dev.tav4j.cli;

import dev.tav4j.runtime.DType;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the tav command takes from its process, read in one place and handed to the commands as a value. */
class CliEnvironmentTest {
    @Test
    void theDocumentedVariablesAndPropertiesBecomeOneValue() {
        Map<String, String> props = Map.of("user.home", "/home/u", "tav.cuda.graphs", "false", "tav.cuda.precision", "bf16",
                "tav.emu.lib", "/x/libtav_emu.so", "tav.debug", "true", "tav.cancelWaitSeconds", "5", "tav.ffmpeg.log", "info");
        Map<String, String> vars = Map.of("TAV_CUDA_FUSE_RESIDUALS", "0", "TAV_CUDA_TENSOR_CORES", "off", "TAV_REPACK_CACHE", "off",
                "CUDA_HOME", "/usr/local/cuda");
        CliEnvironment e = CliEnvironment.from(props::get, vars::get);
        assertFalse(e.backend().cudaGraphs());
        assertFalse(e.backend().fuseResiduals());
        assertFalse(e.backend().tensorCores());
        assertEquals(DType.BF16, e.backend().precision());
        assertEquals(Path.of("/x/libtav_emu.so"), e.backend().emulationLibrary());
        assertEquals("/usr/local/cuda", e.backend().libraryEnvironment().get("CUDA_HOME"));
        assertEquals(Path.of("/home/u/.cache/tav4j"), e.cacheDir());
        assertNull(e.repackCache(), "TAV_REPACK_CACHE=off");
        assertTrue(e.debug());
        assertEquals(5, e.cancelWaitSeconds());
        assertEquals("info", e.ffmpegLog());
        assertEquals(-1, e.hostPoolBytes());

        CliEnvironment d = CliEnvironment.from(Map.of("user.home", "/h")::get, Map.of("XDG_CACHE_HOME", "/c")::get);
        assertTrue(d.backend().cudaGraphs() && d.backend().tensorCores() && d.backend().fuseResiduals());
        assertEquals(Path.of("/c/tav4j"), d.cacheDir());
        assertEquals(Path.of("/c/tav4j/repacked"), d.repackCache());
        assertEquals(600, d.cancelWaitSeconds());
    }

    @Test
    void theCommandsAndTheirDeviceOptionsGetTheEnvironmentMainRead() {
        CliEnvironment env = CliEnvironment.from(Map.of("user.home", "/h")::get, k -> null);
        CommandLine cl = Main.commandLine(env);
        cl.parseArgs("demo", "--device", "cpu", "--no-cuda-graphs", "--precision", "fp16");
        DemoCommand demo = cl.getSubcommands().get("demo").getCommand();
        assertSame(env, demo.device.env());
        assertFalse(demo.device.settings(DType.F16).cudaGraphs(), "--no-cuda-graphs");
        assertEquals(DType.F16, demo.device.settings(DType.F16).precision());
        BenchCommand.Tune tune = cl.getSubcommands().get("bench").getSubcommands().get("tune").getCommand();
        assertSame(env, tune.device.env());
    }
}
