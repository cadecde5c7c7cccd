package dev.tav4j.model.tune;

import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.StepLoop;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.TuneScalars;

import java.util.Arrays;

/**
 * The fixed device buffers of a tuning step of one shape (latents, noise, the input and output scalars of
 * {@link TuneScalars}) and the {@link StepLoop} that runs the step body on them: eager first, captured second,
 * replayed after (cuda with graphs on); eager every time otherwise. The text embedding is copied into a buffer of
 * its own too (a few hundred KiB), so a caller may pass a new text tensor each step without a new capture; only a
 * new shape or element type needs a new instance ({@link #fits}).
 */
final class TuneStep implements AutoCloseable {
    final Tensor latents, noise, in, out, text;
    final int frames, batch;
    private final StepLoop loop;

    /** {@code body} runs one step reading this instance's buffers. */
    TuneStep(Ops ops, int[] shape, int frames, Tensor text, boolean graphs, java.util.function.Consumer<TuneStep> body) {
        this.frames = frames;
        this.batch = shape[0] / frames;
        Tensor l = null, n = null, i = null, t = null;
        try {
            l = ops.allocate(shape);
            n = ops.allocate(shape);
            i = ops.allocateF32(TuneScalars.inputSize(batch));
            t = ops.allocate(text.dtype(), text.shape());
            this.out = ops.allocateF32(TuneScalars.OUT_SIZE);
        } catch (RuntimeException e) {
            for (Tensor x : new Tensor[] {l, n, i, t}) if (x != null) x.close();
            throw e;
        }
        this.latents = l;
        this.noise = n;
        this.in = i;
        this.text = t;
        this.loop = new StepLoop(ops, graphs, () -> body.accept(this));
    }

    boolean fits(Tensor lat, int f, Tensor txt) {
        return f == frames && Arrays.equals(lat.shape(), latents.shape()) && lat.dtype() == latents.dtype()
                && Arrays.equals(txt.shape(), text.shape()) && txt.dtype() == text.dtype();
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
        text.close();
        out.close();
    }

}
