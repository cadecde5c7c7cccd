package dev.tav4j.model.tune;

import dev.tav4j.model.nn.Param;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Device copies of a model's trainable parameters as loaded (and of their exact fp32 masters on a half-precision
 * backend), so one loaded base model can serve job after job: {@link #restore} puts back what a tuning job changed in
 * place. Tuning changes nothing else of a loaded model (its optimizer state and graphs belong to the job's
 * {@link Tuner}); a LoRA job attaches adapters, so it is not one to reuse a model after.
 */
public final class TrainableSnapshot implements AutoCloseable {
    private final Ops ops;
    /** (the live tensor, its copy) pairs. */
    private final List<Tensor[]> pairs = new ArrayList<>();

    private TrainableSnapshot(Ops ops) {
        this.ops = ops;
    }

    /** Copies the parameters of {@code params} that {@code modules} selects (as {@link TrainableModules#select}), and their masters. */
    public static TrainableSnapshot of(ParamStore params, List<String> modules) {
        TrainableSnapshot s = new TrainableSnapshot(params.ops());
        try {
            for (Map.Entry<String, Param> e : TrainableModules.select(params.all(), modules).entrySet()) {
                s.keep(e.getValue().value());
                Tensor exact = params.exactF32(e.getKey());
                if (exact != null) s.keep(exact);
            }
            return s;
        } catch (RuntimeException | Error e) {
            s.close();
            throw e;
        }
    }

    private void keep(Tensor live) {
        Tensor copy = ops.allocate(live.dtype(), live.shape());
        pairs.add(new Tensor[]{live, copy});
        ops.copy(live, copy);
    }

    /** The parameters back to their values at {@link #of}. */
    public void restore() {
        for (Tensor[] p : pairs) ops.copy(p[1], p[0]);
    }

    /** How many tensors are kept (parameters and masters). */
    public int size() { return pairs.size(); }

    @Override public void close() {
        for (Tensor[] p : pairs) p[1].close();
        pairs.clear();
    }
}
