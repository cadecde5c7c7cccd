package dev.tav4j.bench;

import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.pipeline.Ddim;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.Progress;
import dev.tav4j.model.sched.DdimScheduler;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.tune.TuneSettings;
import dev.tav4j.model.tune.Tuner;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.HostMemoryPool;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The three stages of a Tune-A-Video run, timed per step on one UNet3D (the PyTorch bench script mirrors them):
 * <ul>
 *   <li>{@code invert}: one DDIM inversion step (the UNet on batch 1 with the text embedding, then next_step), over
 *       the 50-step schedule of the official config;</li>
 *   <li>{@code edit}: one guided DDIM step (batch 2: unconditional + conditional, guidance 12.5, DDIM update);</li>
 *   <li>{@code tune}: one official tuning step ({@link Tuner#step}: add_noise at a random timestep, forward with
 *       gradient checkpointing per block, MSE, backward into attn1.to_q / attn2.to_q / attn_temp, clipping, AdamW).</li>
 * </ul>
 * A stage's figure is its steady-state step. On a backend that captures steps (cuda): an untimed run of warm-up +
 * timed steps first (JIT, memory pool, step captures), then the time of a run of warm-up + timed steps minus that of
 * a run of the warm-up steps alone, divided by the timed steps. A DDIM run starts its own step loop (step 1 eager,
 * step 2 captured, then replays), so the subtraction removes the eager and capture steps and leaves replays, as in
 * the 50-step runs the projection is for; the tuner's loop persists, so its timed steps are replays anyway. On the
 * cpu: the warm-up steps, then the timed steps alone. Each run ends in a synchronize. Tuning runs last because it
 * changes the trainable weights. A stage that fails (e.g. a precision the backward does not support yet) is reported
 * with its reason and the others still run.
 */
public final class PipelineBench {
    public static final List<String> STAGES = List.of("tune", "invert", "edit");
    static final int DDIM_STEPS = 50;
    static final float GUIDANCE = 12.5f;

    /**
     * What to run: latents frames × latent × latent, {@code steps} timed steps after {@code warmup}, these stages; with
     * {@code profile}, one more step of each stage under the backend's {@link dev.tav4j.runtime.KernelTiming}.
     */
    public record Spec(int frames, int latent, int steps, int warmup, List<String> stages, boolean profile) {
        public Spec(int frames, int latent, int steps, int warmup, List<String> stages) {
            this(frames, latent, steps, warmup, stages, false);
        }

        public Spec {
            if (frames < 1 || latent < 1) throw new IllegalArgumentException("frames and latent must be at least 1, got " + frames + " and " + latent);
            if (steps < 1 || warmup < 0 || steps + warmup > DDIM_STEPS)
                throw new IllegalArgumentException("steps (" + steps + ") must be at least 1 and steps + warm-up (" + warmup + ") at most " + DDIM_STEPS
                        + ", the inversion schedule's length");
            for (String s : stages) if (!STAGES.contains(s)) throw new IllegalArgumentException("unknown stage '" + s + "'; known: " + STAGES);
            stages = List.copyOf(stages);
        }
    }

    /**
     * @param msPerStep       wall milliseconds per timed step (NaN when the stage failed)
     * @param gflopPerStep    {@link FlopCount} of one step
     * @param peakDeviceBytes device memory in use at the peak of the timed steps, weights included (-1 on the cpu backend)
     * @param peakHostBytes   host tensor memory at the peak of the timed steps
     * @param error           why the stage did not run, or null
     */
    public record Stage(String name, double msPerStep, double gflopPerStep, long peakDeviceBytes, long peakHostBytes, String error,
                        StepProfile profile) {
        public Stage(String name, double msPerStep, double gflopPerStep, long peakDeviceBytes, long peakHostBytes, String error) {
            this(name, msPerStep, gflopPerStep, peakDeviceBytes, peakHostBytes, error, StepProfile.NONE);
        }

        public boolean ok() { return error == null; }

        public double tflops() { return gflopPerStep / msPerStep; }
    }

    public record Result(String backend, String device, String precision, int frames, int latent, int steps, double params,
                         List<Stage> stages) {
        public Stage stage(String name) {
            return stages.stream().filter(s -> s.name().equals(name)).findFirst().orElse(null);
        }
    }

    private PipelineBench() {}

    public static Result run(Ops ops, UNetConfig cfg, Weights weights, Spec spec, PrintStream log) {
        dev.tav4j.runtime.KernelTiming timing = StepProfile.timing(ops, spec.profile());
        long t0 = System.nanoTime();
        try (UNet3D unet = new UNet3D(ops, cfg, weights)) {
            double params = unet.params().all().values().stream().mapToLong(p -> p.value().size()).sum();
            String precision = BenchDevice.precision(ops);
            log.printf(Locale.ROOT, "tav4j: %.1fM parameters from %s, ready in %.1f s; backend %s (%s) on %s%n", params / 1e6,
                    weights.describe(), (System.nanoTime() - t0) / 1e9, ops.name(), precision, BenchDevice.name(ops));
            List<Stage> out = new ArrayList<>();
            for (String s : List.of("invert", "edit", "tune")) {
                if (!spec.stages().contains(s)) continue;
                Stage st = stage(ops, unet, s, spec, timing);
                log.println(st.ok() ? String.format(Locale.ROOT, "tav4j %s: %.1f ms per step", s, st.msPerStep())
                        : "tav4j " + s + ": did not run: " + st.error());
                out.add(st);
            }
            out.sort(java.util.Comparator.comparingInt(st -> STAGES.indexOf(st.name())));
            return new Result(ops.name(), BenchDevice.name(ops), precision, spec.frames(), spec.latent(), spec.steps(), params, out);
        }
    }

    private static Stage stage(Ops ops, UNet3D unet, String name, Spec spec, dev.tav4j.runtime.KernelTiming timing) {
        UNetConfig cfg = unet.config();
        int f = spec.frames(), l = spec.latent();
        double gflop = switch (name) {
            case "tune" -> FlopCount.tuningStep(cfg, f, l);
            case "invert" -> FlopCount.inversionStep(cfg, f, l);
            default -> FlopCount.editingStep(cfg, f, l);
        } / 1e9;
        try {
            StepRunner r = switch (name) {
                case "tune" -> tune(ops, unet, spec);
                case "invert" -> invert(ops, unet, spec);
                default -> edit(ops, unet, spec);
            };
            try (r) {
                int w = spec.warmup(), n = w + spec.steps();
                long warmOnly = 0;
                if (ops.capturesSteps()) {
                    r.run(n);  // untimed: JIT, memory pool, kernel loading, step captures
                    ops.synchronize();
                    long t0 = System.nanoTime();
                    r.run(w);
                    ops.synchronize();
                    warmOnly = System.nanoTime() - t0;
                } else if (w > 0) {
                    r.run(w);  // no step loop state to subtract: warm up, then time the timed steps alone
                    ops.synchronize();
                    n = spec.steps();
                }
                HostMemoryPool.GLOBAL.resetPeak();
                ops.resetPeakDeviceBytes();
                long t1 = System.nanoTime();
                r.run(n);
                ops.synchronize();
                // capturing backends: what n steps cost beyond the first w (the eager step and the capture)
                double ms = Math.max(0, System.nanoTime() - t1 - warmOnly) / 1e6 / spec.steps();
                long peakDevice = ops.peakDeviceBytes(), peakHost = HostMemoryPool.GLOBAL.peakLiveBytes();
                StepProfile profile = StepProfile.NONE;
                if (timing != null) {
                    profile = StepProfile.of(timing, () -> {
                        r.run(1);
                        ops.synchronize();
                    });
                }
                return new Stage(name, ms, gflop, peakDevice, peakHost, null, profile);
            }
        } catch (RuntimeException e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            return new Stage(name, Double.NaN, gflop, -1, -1, why);
        }
    }

    /** Runs n steps of a stage; holds the stage's inputs. */
    private interface StepRunner extends AutoCloseable {
        void run(int n);

        @Override void close();
    }

    private static StepRunner invert(Ops ops, UNet3D unet, Spec spec) {
        Inputs in = Inputs.of(ops, unet.config(), spec, 7, 1);
        DdimScheduler sched = new DdimScheduler(SchedulerConfig.defaults(), DDIM_STEPS);
        return in.runner(n -> {
            try (Tensor x = Ddim.invert(unet, sched, in.latents(), spec.frames(), in.text(0), n, Progress.NONE)) {
                x.size();
            }
        });
    }

    private static StepRunner edit(Ops ops, UNet3D unet, Spec spec) {
        Inputs in = Inputs.of(ops, unet.config(), spec, 7, 2);
        return in.runner(n -> {
            // a schedule of n steps: each step is the same work whatever its timestep
            DdimScheduler sched = new DdimScheduler(SchedulerConfig.defaults(), n);
            try (Tensor x = Ddim.sample(unet, sched, in.latents(), spec.frames(), in.text(0), in.text(1), GUIDANCE, Progress.NONE)) {
                x.size();
            }
        });
    }

    private static StepRunner tune(Ops ops, UNet3D unet, Spec spec) {
        Inputs in = Inputs.of(ops, unet.config(), spec, 11, 1);
        Gaussian g = new Gaussian(13);
        Tensor noise;
        try (Tensor h = g.tensor(spec.frames(), spec.latent(), spec.latent(), unet.config().inChannels())) {
            noise = ops.upload(h);
        }
        Tuner tuner;
        try {
            tuner = new Tuner(unet, new NoiseSchedule(SchedulerConfig.defaults()), TuneSettings.defaults());
        } catch (RuntimeException e) {
            noise.close();
            in.close();
            throw e;
        }
        return new StepRunner() {
            @Override public void run(int n) {
                for (int i = 0; i < n; i++) tuner.step(in.latents(), noise, spec.frames(), new int[]{g.nextInt(1000)}, in.text(0));
            }

            @Override public void close() {
                tuner.close();
                noise.close();
                in.close();
            }
        };
    }

    /** Random latents [F, h, w, C] and text embeddings [1, 77, D] on the backend. */
    private record Inputs(Tensor latents, List<Tensor> texts) implements AutoCloseable {
        static Inputs of(Ops ops, UNetConfig cfg, Spec spec, long seed, int textCount) {
            Gaussian g = new Gaussian(seed);
            List<Tensor> texts = new ArrayList<>();
            try (Tensor lat = g.tensor(spec.frames(), spec.latent(), spec.latent(), cfg.inChannels())) {
                Tensor x = ops.upload(lat);
                for (int i = 0; i < textCount; i++)
                    try (Tensor t = g.tensor(1, 77, cfg.crossAttentionDim())) {
                        texts.add(ops.upload(t));
                    }
                return new Inputs(x, texts);
            }
        }

        Tensor text(int i) { return texts.get(i); }

        StepRunner runner(java.util.function.IntConsumer steps) {
            Inputs self = this;
            return new StepRunner() {
                @Override public void run(int n) { steps.accept(n); }

                @Override public void close() { self.close(); }
            };
        }

        @Override public void close() {
            latents.close();
            texts.forEach(Tensor::close);
        }
    }
}
