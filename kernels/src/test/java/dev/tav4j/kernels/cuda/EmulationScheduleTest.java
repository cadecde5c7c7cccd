package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.device.DeviceApi;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The emulation's thread schedule, which the race check depends on: the probe kernel (native/emu/schedule_probe.cu)
 * reads a neighbour's shared-memory write without a barrier, so what it reads tells which thread ran first. The
 * default surefire run schedules first to last; the kernels module's second run ({@code emu-reverse-schedule} in its
 * pom) sets TAV_EMU_SCHEDULE=reverse and repeats the emulated kernel tests with the last thread first, so a missing
 * barrier fails one of the two runs whichever thread writes first.
 */
class EmulationScheduleTest {
    private static final int THREADS = 64;

    @Test
    void theProbeSeesTheScheduleOfThisRun() {
        DeviceApi api = Emu.ops().device();
        boolean reverse = "reverse".equals(System.getenv("TAV_EMU_SCHEDULE"));
        long out = api.alloc(4L * THREADS);
        try (Arena arena = Arena.ofConfined(); KernelArgs args = new KernelArgs()) {
            api.launch(api.kernel("emu_schedule_probe"), 1, 1, 1, THREADS, 1, 1, 0, args.reset().ptr(out).array());
            MemorySegment host = arena.allocate(4L * THREADS, 4);
            api.copyToHost(out, host, 4L * THREADS);
            int[] got = host.toArray(ValueLayout.JAVA_INT);
            // After the barrier: the thread that completed it goes on at once (the last in schedule order), then the
            // others in schedule order.
            int[] position = new int[THREADS];
            for (int k = 0; k < THREADS; k++) {
                int t = reverse ? THREADS - 1 - k : k;
                position[t] = k == THREADS - 1 ? 0 : k + 1;
            }
            int[] want = new int[THREADS];
            for (int t = 0; t < THREADS; t++) {
                int next = (t + 1) % THREADS;
                // slot next holds next + 1 when thread t reads it only if thread next ran first
                want[t] = position[next] < position[t] ? next + 1 : 0;
            }
            assertArrayEquals(want, got, (reverse ? "reverse" : "default") + " schedule");
        } finally {
            api.free(out);
        }
    }
}
