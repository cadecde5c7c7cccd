package dev.tav4j.cli;

import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How {@code tav run} turns the config's mixed_precision (and an explicit --precision) into the backend it tunes on. */
class RunPrecisionTest {
    @Test
    void theConfigPicksThePrecisionAndAnExplicitFlagWins() {
        assertEquals(DType.F16, RunCommand.precision("fp16", null));
        assertEquals(DType.BF16, RunCommand.precision(" BF16 ", null));
        assertEquals(DType.F32, RunCommand.precision("no", null));
        assertEquals(DType.F32, RunCommand.precision(null, null));
        assertEquals(DType.BF16, RunCommand.precision("fp16", "bf16"));
        assertEquals(DType.F32, RunCommand.precision("fp16", "fp32"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunCommand.precision("int8", null));
        assertTrue(e.getMessage().contains("mixed_precision 'int8'"), e.getMessage());
    }

    @Test
    void onTheCpuBackendMixedPrecisionFromTheConfigTrainsInFp32() {
        Ops ops = RunCommand.open("cpu", BackendSettings.DEFAULTS.withPrecision(DType.F16), "fp16");
        assertEquals("cpu", ops.name());
        assertEquals(DType.F32, ops.precision());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunCommand.open("cpu", BackendSettings.DEFAULTS.withPrecision(DType.BF16), null));
        assertTrue(e.getMessage().contains("--precision bf16 needs --device cuda"), e.getMessage());
    }

    @Test
    void theStartLineSaysWhatMixedPrecisionDoes() {
        assertEquals("", TuneLauncher.mixedPrecisionNote(DType.F32));
        assertTrue(TuneLauncher.mixedPrecisionNote(DType.F16).contains("loss scaling"));
        assertTrue(TuneLauncher.mixedPrecisionNote(DType.BF16).contains("fp32 master weights"));
    }
}
