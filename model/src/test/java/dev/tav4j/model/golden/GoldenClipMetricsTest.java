package dev.tav4j.model.golden;

import dev.tav4j.runtime.Backends;
import org.junit.jupiter.api.Test;

/** The {@code clip_metrics} cases alone on the CPU backend (the parity suite runs them too), quick to run on their own. */
class GoldenClipMetricsTest {
    @Test void clipMetricsCases() {
        for (GoldenCase c : GoldenData.cases("clip_metrics")) {
            try (c) {
                ClipMetricsParity.run(Backends.select("cpu"), c, GoldenParityTest.FORWARD_TOL);
            }
        }
    }
}
