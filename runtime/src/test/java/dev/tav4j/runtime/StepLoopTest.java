package dev.tav4j.runtime;

import dev.tav4j.runtime.device.StepCaptureException;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.util.ArrayDeque;
import java.util.Deque;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The run sequence of {@link StepLoop} over a scripted backend whose {@link Ops#record} fails or succeeds as told:
 * every run executes the step exactly once (eagerly or by replay), a capture that lacked a cached block is retried
 * after an eager run, anything else ends capturing for good.
 */
class StepLoopTest {
    /** A backend that only captures: each record() takes the next outcome (null = success: a graph counting replays). */
    private static final class Script {
        final Deque<RuntimeException> outcomes = new ArrayDeque<>();
        int eager, replays, records;
        BackendSettings settings = BackendSettings.DEFAULTS;

        Ops ops() {
            return (Ops) Proxy.newProxyInstance(Ops.class.getClassLoader(), new Class<?>[] {Ops.class}, (proxy, m, args) -> switch (m.getName()) {
                case "capturesSteps" -> true;
                case "name" -> "script";
                case "settings" -> settings;
                case "record" -> {
                    records++;
                    RuntimeException e = outcomes.isEmpty() ? null : outcomes.poll();
                    if (e != null) throw e;
                    yield new StepGraph() {
                        @Override public void replay() { replays++; }

                        @Override public boolean captured() { return true; }

                        @Override public void close() {}
                    };
                }
                default -> throw new UnsupportedOperationException(m.getName());
            });
        }
    }

    private static StepLoop loop(Script s) {
        return new StepLoop(s.ops(), true, () -> s.eager++);
    }

    @Test
    void theBackendsSettingsTurnCaptureOffWhateverTheLoopAsks() {
        Script s = new Script();
        s.settings = BackendSettings.DEFAULTS.withCudaGraphs(false);
        try (StepLoop l = loop(s)) {
            for (int i = 0; i < 3; i++) l.run();
            assertEquals(3, s.eager, "every run eager");
            assertEquals(0, s.records, "nothing recorded");
        }
    }

    @Test
    void capturesAtTheSecondRunAndReplaysAfter() {
        Script s = new Script();
        try (StepLoop l = loop(s)) {
            for (int i = 0; i < 5; i++) l.run();
            assertEquals(1, s.eager, "only run 1 is eager");
            assertEquals(4, s.replays, "runs 2 to 5 replay (run 2 right after its capture)");
            assertTrue(l.captured());
        }
    }

    @Test
    void aCaptureThatLackedACachedBlockIsRetriedAfterAnEagerRun() {
        Script s = new Script();
        s.outcomes.add(new StepCaptureException("no cached block", true));
        try (StepLoop l = loop(s)) {
            for (int i = 0; i < 5; i++) l.run();
            assertEquals(2, s.eager, "run 1, and run 2 whose capture failed");
            assertEquals(3, s.replays, "runs 3 to 5");
            assertEquals(2, s.records);
            assertTrue(l.captured());
            assertNull(l.fallbackReason());
        }
    }

    @Test
    void retriesStopAfterMaxCaptureTries() {
        Script s = new Script();
        for (int i = 0; i < StepLoop.MAX_CAPTURE_TRIES; i++) s.outcomes.add(new StepCaptureException("no cached block " + i, true));
        try (StepLoop l = loop(s)) {
            for (int i = 0; i < 8; i++) l.run();
            assertEquals(8, s.eager, "every run eager once capture was given up");
            assertEquals(0, s.replays);
            assertEquals(StepLoop.MAX_CAPTURE_TRIES, s.records);
            assertFalse(l.captured());
            assertEquals("no cached block " + (StepLoop.MAX_CAPTURE_TRIES - 1), l.fallbackReason());
        }
    }

    @Test
    void anyOtherCaptureFailureEndsCapturingAtOnce() {
        Script s = new Script();
        s.outcomes.add(new StepCaptureException("a captured step may not do a host copy"));
        try (StepLoop l = loop(s)) {
            for (int i = 0; i < 4; i++) l.run();
            assertEquals(4, s.eager);
            assertEquals(1, s.records);
            assertNotNull(l.fallbackReason());
            assertFalse(l.captured());
        }
    }
}
