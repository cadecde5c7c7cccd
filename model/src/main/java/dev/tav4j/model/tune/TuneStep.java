package dev.tav4j.model.tune;

import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.StepLoop;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.TuneScalars;

import java.util.Arrays;

/**
 * The fixed device buffers of a tuning step of one shape (latents, noise, the input and output scalars of
 * {@link TuneScalars}) and the {@link StepLoop} that runs the step body on them: eager first, captured second,
 * replayed after (cuda with graphs on); eager every time otherwise. A step reads the text tensor it was built for,
 * so a new text tensor or shape needs a new instance ({@link #fits}).
 */
final class TuneStep implements AutoCloseable {
    final Tensor latents, noise, in, out, text;
    final int frames, batch;
    private final StepLoop loop;

    /** {@code body} runs one step reading this instance's buffers. */
    TuneStep(Ops ops, int[] shape, int frames, Tensor text, boolean graphs, java.util.function.Consumer<TuneStep> body) {
        this.frames = frames;
        this.batch = shape[0] / frames;
        this.text = text;
        Tensor l = null, n = null, i = null;
        try {
            l = ops.allocate(shape);
            n = ops.allocate(shape);
            i = ops.allocateF32(TuneScalars.inputSize(batch));
            this.out = ops.allocateF32(TuneScalars.OUT_SIZE);
        } catch (RuntimeException e) {
            for (Tensor t : new Tensor[] {l, n, i}) if (t != null) t.close();
            throw e;
        }
        this.latents = l;
        this.noise = n;
        this.in = i;
        this.loop = new StepLoop(ops, graphs, () -> body.accept(this));
    }

    boolean fits(Tensor lat, int f, Tensor txt) {
        return f == frames && txt == text && Arrays.equals(lat.shape(), latents.shape()) && lat.dtype() == latents.dtype();
    }

    /** Runs the step (eagerly, by capturing, or by replaying). */
    void run() { loop.run(); }

    /** Whether the step is replayed from a captured graph. */
    boolean captured() { return loop.captured(); }

    /** Why capture was given up, or null. */
    String fallbackReason() { return loop.fallbackReason(); }

    /** The output buffer on the host: the one read-back of a step. */
    float[] results(Ops ops) {
        try (Tensor h = ops.download(out)) {
            return h.toArray();
        }
    }

    @Override public void close() {
        loop.close();
        latents.close();
        noise.close();
        in.close();
        out.close();
    }

}
