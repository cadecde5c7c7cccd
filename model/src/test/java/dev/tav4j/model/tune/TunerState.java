package dev.tav4j.model.tune;

import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/** Test support: what a tuner carries from step to step, on the host, for comparing two runs. */
final class TunerState {
    private TunerState() {}

    /** Masters, working copies and AdamW's moments of every trainable parameter, keyed "master|working|m|v name". */
    static Map<String, float[]> snapshot(Ops ops, Tuner tuner) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (String name : tuner.trainable().keySet()) {
            Tensor[] ts = {tuner.master(name), tuner.trainable().get(name).value(), tuner.moments(name)[0], tuner.moments(name)[1]};
            String[] tags = {"master", "working", "m", "v"};
            for (int i = 0; i < ts.length; i++) {
                try (Tensor h = ops.download(ts[i])) {
                    out.put(tags[i] + " " + name, h.toArray());
                }
            }
        }
        return out;
    }
}
