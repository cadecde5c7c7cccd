package dev.tav4j.model.pretrain;

import dev.tav4j.model.nn.Param;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.model.tune.LossScaler;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.StepLoop;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.TuneScalars;
import dev.tav4j.runtime.autograd.Fn;
import dev.tav4j.runtime.autograd.Grads;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains every parameter of a module (a {@link ParamStore}) on any loss written on the tape: the objective builds a
 * scalar [1] on a training {@link Fn} from the step's inputs, the tape differentiates it, then one device reduction
 * gives the total norm and the "all finite" flag, the gradients are clipped and AdamW updates fp32 masters. This is
 * the tuner's step ({@link dev.tav4j.model.tune.Tuner}) with the model and the loss as values: mixed precision
 * (fp32 masters, gradients and moments beside half-precision working copies; a {@link LossScaler} for F16), skipped
 * steps, and the step captured as a CUDA graph and replayed where the backend can ({@link StepLoop}).
 *
 * <p>Nothing inside a step reads back to the host: the inputs are copied into fixed device buffers before it
 * (data in the backend's precision, scalars F32), the loss and its reported terms are written by kernels into an
 * F32 output buffer, and the host reads that buffer once after the step. The learning rate of each step is the
 * caller's ({@link #step(Batch, float)}: a schedule), passed as a device scalar (AdamW's step size), so one captured
 * graph serves every step. Decoupled weight decay (off by default) follows the schedule on the CPU backend and uses the
 * rate of the captured step on a GPU.
 */
public final class Trainer implements AutoCloseable {
    /** The most reported terms a loss may have besides its total. */
    public static final int MAX_TERMS = 8;

    /** What an objective returns: the scalar to minimise [1] and named terms [1] to report (all on the backend). */
    public record Loss(Tensor total, Map<String, Tensor> terms) {
        public Loss(Tensor total) { this(total, Map.of()); }
    }

    /** Builds the loss on a recording {@link Fn} from the step's inputs on the device. Must not read back to the host. */
    @FunctionalInterface
    public interface Objective {
        Loss loss(Fn f, Inputs in);
    }

    /** The step's inputs on the device by name: fixed buffers, the same tensors every step of one batch shape. */
    public static final class Inputs {
        private final Map<String, Tensor> buffers = new LinkedHashMap<>();

        public Tensor get(String name) {
            Tensor t = buffers.get(name);
            if (t == null) throw new IllegalArgumentException("no step input '" + name + "' (have " + buffers.keySet() + ")");
            return t;
        }
    }

    /** One step's host inputs by name: data (stored on the device in the backend's precision) and scalars (F32). */
    public static final class Batch implements AutoCloseable {
        private final Map<String, Tensor> data = new LinkedHashMap<>();
        private final Map<String, float[]> scalars = new LinkedHashMap<>();

        /** A host F32 tensor, taken over (closed with the batch). */
        public Batch data(String name, Tensor host) {
            Tensor old = data.put(name, host);
            if (old != null) old.close();
            return this;
        }

        public Batch scalars(String name, float... values) {
            scalars.put(name, values.clone());
            return this;
        }

        @Override public void close() {
            data.values().forEach(Tensor::close);
            data.clear();
        }
    }

    /**
     * AdamW and clipping. {@code learningRate} is the base rate (the schedule is the caller's); {@code maxGradNorm}
     * clips the total norm (torch's clip_grad_norm_).
     */
    public record Settings(float learningRate, float beta1, float beta2, float weightDecay, float eps, float maxGradNorm,
                           boolean gradientCheckpointing) {
        public static Settings defaults(float learningRate) {
            return new Settings(learningRate, 0.9f, 0.999f, 0f, 1e-8f, 1f, false);
        }
    }

    /** What one step measured: the loss, its terms, the total norm before clipping (unscaled), whether it was skipped. */
    public record StepResult(float loss, Map<String, Float> terms, double gradNorm, boolean skipped, float learningRate) {}

    /** The counters a checkpoint keeps: loop steps (skipped included), AdamW steps, skipped steps, the loss scaler. */
    public record State(int steps, int optimizerSteps, int skippedSteps, float lossScale, int growthTracker) {}

    private final Ops ops;
    private final GradOps grad;
    private final ParamStore params;
    private final Objective objective;
    private final Settings settings;
    private final LossScaler scaler;
    private final Map<String, Param> trainable = new LinkedHashMap<>();
    private final Grads grads;
    private final List<Tensor> gradList = new ArrayList<>();
    private final Map<Tensor, Tensor> masters = new IdentityHashMap<>();
    private final List<Tensor> ownedMasters = new ArrayList<>();
    private final Map<Tensor, Tensor[]> moments = new IdentityHashMap<>();
    private final boolean mixed;
    private boolean cudaGraphs = StepLoop.graphsByDefault();
    private int steps, optimizerSteps, skippedSteps;
    private float stepLr;  // the rate of the step running now (the CPU backend's AdamW reads it; cuda reads in[STEP_SIZE])
    private Step current;

    /** Every parameter of {@code params} trains, with the loss scaling the backend's precision calls for. */
    public Trainer(ParamStore params, Objective objective, Settings settings) {
        this(params, objective, settings, LossScaler.forPrecision(params.ops().precision()));
    }

    public Trainer(ParamStore params, Objective objective, Settings settings, LossScaler scaler) {
        this.ops = params.ops();
        this.grad = ops.grad();
        this.params = params;
        this.objective = objective;
        this.settings = settings;
        this.scaler = scaler;
        this.trainable.putAll(params.all());
        if (trainable.isEmpty()) throw new IllegalArgumentException("nothing to train: the module has no parameters");
        this.grads = new Grads(ops, trainable.values().stream().map(Param::value).toList());
        boolean anyHalf = false;
        try {
            for (Param p : trainable.values()) {
                Tensor w = p.value();
                w.makeWritable();
                gradList.add(grads.of(w));
                Tensor master = w;
                if (w.dtype() != DType.F32) {
                    anyHalf = true;
                    master = params.exactF32(p.name());
                    if (master == null) {  // no exact copy kept at load: start from the stored values
                        master = ops.allocate(DType.F32, w.shape());
                        ops.copy(w, master);
                        ownedMasters.add(master);
                    }
                }
                masters.put(w, master);
                Tensor m = ops.allocate(DType.F32, w.shape()), v = ops.allocate(DType.F32, w.shape());
                grads.zeroFill(m);
                grads.zeroFill(v);
                moments.put(w, new Tensor[]{m, v});
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
        this.mixed = anyHalf;
    }

    /** The parameters by checkpoint name (their values are the working copies the forward reads). */
    public Map<String, Param> trainable() { return trainable; }

    public ParamStore params() { return params; }

    public Settings settings() { return settings; }

    public boolean mixedPrecision() { return mixed; }

    /** Parameters in the model, counted. */
    public long parameterCount() {
        return trainable.values().stream().mapToLong(p -> p.value().size()).sum();
    }

    /** Steps taken, skipped ones included. */
    public int steps() { return steps; }

    public int optimizerSteps() { return optimizerSteps; }

    public int skippedSteps() { return skippedSteps; }

    public LossScaler lossScaler() { return scaler; }

    public State state() {
        return new State(steps, optimizerSteps, skippedSteps, scaler.scale(), scaler.growthTracker());
    }

    /** The fp32 master of a parameter (the parameter itself on an F32 backend). */
    public Tensor master(String name) { return masters.get(param(name).value()); }

    /** AdamW's first and second moments of a parameter (engine layout, F32, on the backend). */
    public Tensor[] moments(String name) { return moments.get(param(name).value()); }

    /** The gradient of a parameter from the last step (engine layout, F32, still multiplied by the loss scale). */
    public Tensor rawGrad(String name) { return grads.of(param(name).value()); }

    /** Capture steps as a CUDA graph where the backend can (default: {@link StepLoop#graphsByDefault()}). */
    public Trainer cudaGraphs(boolean on) {
        if (on != cudaGraphs && current != null) {
            current.close();
            current = null;
        }
        cudaGraphs = on;
        return this;
    }

    /** Whether the last step was replayed from a captured graph. */
    public boolean stepCaptured() { return current != null && current.loop.captured(); }

    /**
     * One step at learning rate {@code lr}: copies the batch into the fixed buffers, runs forward, backward,
     * clipping and AdamW on the device, and reads the results back once. A new batch shape builds new buffers (and a
     * new capture).
     */
    public StepResult step(Batch batch, float lr) {
        if (current == null || !current.fits(batch)) {
            if (current != null) current.close();
            current = null;
            current = new Step(batch);
        }
        Step s = current;
        for (Map.Entry<String, Tensor> e : batch.data.entrySet()) {
            Tensor dst = s.inputs.buffers.get(e.getKey());
            if (dst.isHost() && dst.dtype() == DType.F32) dst.copyFrom(e.getValue());
            else try (Tensor d = ops.upload(e.getValue())) {
                ops.copy(d, dst);
            }
        }
        for (Map.Entry<String, float[]> e : batch.scalars.entrySet()) ops.write(e.getValue(), s.inputs.buffers.get(e.getKey()));
        float scale = scaler.scale();
        ops.write(scalarInputs(lr, scale), s.in);
        stepLr = lr;
        s.loop.run();
        float[] out;
        try (Tensor h = ops.download(s.out)) {
            out = h.toArray();
        }
        double norm = Math.sqrt(TuneScalars.squaredNorm(out)) / scale;
        Map<String, Float> terms = new LinkedHashMap<>();
        for (int i = 0; i < s.termNames.size(); i++) terms.put(s.termNames.get(i), out[TuneScalars.OUT_SIZE + i]);
        steps++;
        boolean finite = out[TuneScalars.FINITE] != 0f;
        if (finite) optimizerSteps++;
        else skippedSteps++;
        scaler.update(finite);
        return new StepResult(out[TuneScalars.LOSS], terms, norm, !finite, lr);
    }

    /** STEP, AdamW's step size at rate lr and √(1 − β2ᵗ) for step optimizerSteps + 1, and the loss scale. */
    private float[] scalarInputs(float lr, float scale) {
        float[] in = new float[TuneScalars.inputSize(0)];
        int t = optimizerSteps + 1;
        float[] bc = TuneScalars.adamWScalars(lr, settings.beta1(), settings.beta2(), t);
        in[TuneScalars.STEP] = t;
        in[TuneScalars.STEP_SIZE] = bc[0];
        in[TuneScalars.BC2_SQRT] = bc[1];
        in[TuneScalars.SCALE] = scale;
        return in;
    }

    /** The fixed buffers of one batch shape and the loop that runs (or replays) the step on them. */
    private final class Step implements AutoCloseable {
        final Inputs inputs = new Inputs();
        final Tensor in, out;
        final StepLoop loop;
        final List<String> termNames = new ArrayList<>();
        private final Map<String, int[]> shapes = new LinkedHashMap<>();

        Step(Batch batch) {
            List<Tensor> made = new ArrayList<>();
            try {
                for (Map.Entry<String, Tensor> e : batch.data.entrySet()) {
                    Tensor t = ops.allocate(e.getValue().shape());
                    made.add(t);
                    inputs.buffers.put(e.getKey(), t);
                    shapes.put("d:" + e.getKey(), e.getValue().shape());
                }
                for (Map.Entry<String, float[]> e : batch.scalars.entrySet()) {
                    Tensor t = ops.allocateF32(e.getValue().length);
                    made.add(t);
                    inputs.buffers.put(e.getKey(), t);
                    shapes.put("s:" + e.getKey(), new int[]{e.getValue().length});
                }
                Tensor i = ops.allocateF32(TuneScalars.inputSize(0));
                made.add(i);
                Tensor o = ops.allocateF32(TuneScalars.OUT_SIZE + MAX_TERMS);
                made.add(o);
                in = i;
                out = o;
            } catch (RuntimeException | Error e) {
                made.forEach(Tensor::close);
                throw e;
            }
            loop = new StepLoop(ops, cudaGraphs, this::body);
        }

        boolean fits(Batch b) {
            if (b.data.size() + b.scalars.size() != shapes.size()) return false;
            for (Map.Entry<String, Tensor> e : b.data.entrySet())
                if (!Arrays.equals(shapes.get("d:" + e.getKey()), e.getValue().shape())) return false;
            for (Map.Entry<String, float[]> e : b.scalars.entrySet())
                if (!Arrays.equals(shapes.get("s:" + e.getKey()), new int[]{e.getValue().length})) return false;
            return true;
        }

        /** The step on the fixed buffers: no read-back, no host decision (capturable). */
        private void body() {
            grads.zero();
            try (Fn f = Fn.training(ops, grads, settings.gradientCheckpointing())) {
                Loss loss = objective.loss(f, inputs);
                Tensor total = loss.total();
                total.requireShape("loss", 1);
                if (loss.terms().size() > MAX_TERMS) throw new IllegalArgumentException("at most " + MAX_TERMS + " reported terms, got " + loss.terms().keySet());
                ops.copy(total, out.slice(TuneScalars.LOSS, 1));
                int k = 0;
                for (Map.Entry<String, Tensor> e : loss.terms().entrySet()) {
                    if (termNames.size() == k) termNames.add(e.getKey());
                    ops.copy(e.getValue(), out.slice(TuneScalars.OUT_SIZE + k, 1));
                    k++;
                }
                try (Tensor seed = ops.allocate(total.dtype(), 1)) {  // d(scale·loss)/d(loss), read from the device
                    ops.copy(in.slice(TuneScalars.SCALE, 1), seed);
                    f.backward(total, seed);
                }
            }
            grad.clipFactors(gradList, in, settings.maxGradNorm(), out);
            for (Param p : trainable.values()) {
                Tensor w = p.value(), master = masters.get(w);
                Tensor[] mv = moments.get(w);
                grad.adamW(master, grads.of(w), mv[0], mv[1], in, out, stepLr, settings.beta1(),
                        settings.beta2(), settings.weightDecay(), settings.eps());
                if (master != w) ops.copy(master, w);
            }
        }

        @Override public void close() {
            loop.close();
            inputs.buffers.values().forEach(Tensor::close);
            in.close();
            out.close();
        }
    }

    /** Continues from a checkpoint: the counters and AdamW's moments (host tensors in engine layout, by name). */
    public void restore(State state, Map<String, Tensor> m, Map<String, Tensor> v) {
        for (Map.Entry<String, Param> e : trainable.entrySet()) {
            Tensor[] mv = moments.get(e.getValue().value());
            Tensor hm = m.get(e.getKey()), hv = v.get(e.getKey());
            if (hm == null || hv == null) throw new IllegalArgumentException("checkpoint has no optimizer state for " + e.getKey());
            try (Tensor dm = ops.upload(hm.requireShape("m/" + e.getKey(), mv[0].shape()), DType.F32);
                 Tensor dv = ops.upload(hv.requireShape("v/" + e.getKey(), mv[1].shape()), DType.F32)) {
                ops.copy(dm, mv[0]);
                ops.copy(dv, mv[1]);
            }
        }
        steps = state.steps();
        optimizerSteps = state.optimizerSteps();
        skippedSteps = state.skippedSteps();
        scaler.restore(state.lossScale(), state.growthTracker());
    }

    /** Copies every master into its working copy (after the masters were written, e.g. restored). */
    public void refreshWorkingCopies() {
        for (Param p : trainable.values()) {
            Tensor w = p.value(), master = masters.get(w);
            if (master != w) ops.copy(master, w);
        }
    }

    /** The trained parameters (the fp32 masters) in PyTorch layout on the host, by name. */
    public Map<String, Tensor> parametersTorchLayout() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Param p : trainable.values()) out.put(p.name(), params.toTorchLayout(p, masters.get(p.value())));
        return out;
    }

    private Param param(String name) {
        Param p = trainable.get(name);
        if (p == null) throw new IllegalArgumentException("'" + name + "' is not a parameter of this trainer");
        return p;
    }

    @Override public void close() {
        if (current != null) current.close();
        current = null;
        if (grads != null) grads.close();
        moments.values().forEach(mv -> { mv[0].close(); mv[1].close(); });
        moments.clear();
        ownedMasters.forEach(Tensor::close);
        ownedMasters.clear();
        masters.clear();
    }
}
