package dev.tav4j.model.golden;

import org.junit.jupiter.api.Test;

/** The {@code lora_merge} cases alone (the parity suite runs them too), quick to run on their own. */
class GoldenLoraMergeTest {
    @Test void loraMergeCases() {
        for (GoldenCase c : GoldenData.cases("lora_merge")) {
            try (c) {
                LoraMergeParity.run(c);
            }
        }
    }
}
