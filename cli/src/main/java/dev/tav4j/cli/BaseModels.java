package dev.tav4j.cli;

import dev.tav4j.model.pipeline.TuneAVideoPipeline;
import dev.tav4j.model.tune.TrainableSnapshot;
import dev.tav4j.runtime.Ops;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Where a tuning job gets its backend and its loaded base model. {@link #NONE}: opened and loaded for the job, closed
 * after it ({@code tav run}, {@code tav tune}). {@link #PROCESS}: kept loaded between the jobs of this process, so a
 * {@code tav batch} worker or a Spark executor loads the base model once, not once per job: a job returns it with its
 * trainable parameters as it left them, and the next job with the same model, backend and trainable modules gets them
 * back as loaded ({@link TrainableSnapshot}) instead of reading the files again. Jobs running at the same time get
 * models of their own; a model whose job failed is closed, not kept (its state is unknown).
 */
final class BaseModels {
    /** Load per job, close after it. */
    static final BaseModels NONE = new BaseModels(false);
    /** Keep between jobs (tav batch's in-process worker, a Spark task's executor). */
    static final BaseModels PROCESS = new BaseModels(true);

    /** A backend: the device option and its settings (two jobs with equal keys can share one). */
    record BackendKey(String device, dev.tav4j.runtime.BackendSettings settings) {}

    /**
     * A loaded base model: the checkpoint (its folder or file, config and prediction type as given), the LoRA files
     * merged into it, the trainable modules (those tuning changes in place) and the UNet's attention variant.
     */
    record ModelKey(String checkpoint, String modelConfig, String predictionType, List<String> loras, List<String> trainableModules) {}

    private final boolean keep;
    /** Models returned by finished jobs, most recent last. */
    private final List<Entry> idle = new ArrayList<>();

    private BaseModels(boolean keep) {
        this.keep = keep;
    }

    /** How many models this process keeps loaded between jobs right now (for tests and the log). */
    synchronized int idleCount() { return idle.size(); }

    /** Closes every kept model (a test's clean slate; a long-lived service changing models). */
    synchronized void clear() {
        for (Entry e : idle) e.closeModel();
        idle.clear();
    }

    /**
     * The backend for a job: a kept model's backend of the same key (that model reserved for this job), else a new one
     * from {@code open}.
     */
    Lease backend(BackendKey key, Supplier<Ops> open) {
        if (keep) {
            synchronized (this) {
                for (int i = idle.size() - 1; i >= 0; i--)
                    if (idle.get(i).backend.equals(key)) return new Lease(idle.remove(i));
            }
        }
        return new Lease(new Entry(key, open.get()));
    }

    /** One job's hold on a backend and, after {@link #model}, a loaded model; closing it keeps or closes the model. */
    final class Lease implements AutoCloseable {
        private final Entry entry;
        private boolean reused, keepIt;

        private Lease(Entry entry) {
            this.entry = entry;
        }

        Ops ops() { return entry.ops; }

        /** Whether a model kept from an earlier job is loaded on this backend (reused by {@link #model}, or closed there first). */
        boolean holdsModel() { return entry.pipeline != null; }

        /**
         * The base model of {@code key}: the reserved kept one with its trainable parameters restored, or loaded now
         * by {@code load} (a kept model of another key is closed first, so one model at a time is held per job).
         * {@code trainableModules} null: a LoRA job, whose model is never kept.
         */
        TuneAVideoPipeline model(ModelKey key, Supplier<TuneAVideoPipeline> load) {
            if (entry.pipeline != null && entry.model.equals(key)) {
                entry.snapshot.restore();
                reused = true;
                return entry.pipeline;
            }
            entry.closeModel();
            TuneAVideoPipeline p = load.get();
            entry.pipeline = p;
            entry.model = key;
            if (keep && key.trainableModules() != null) entry.snapshot = TrainableSnapshot.of(p.unet().params(), key.trainableModules());
            return p;
        }

        /** Whether {@link #model} gave a model kept from an earlier job (not loaded for this one). */
        boolean reused() { return reused; }

        /** The job ended in a known state (finished or stopped at a step boundary): its model may serve the next job. */
        void keep() { keepIt = true; }

        @Override public void close() {
            if (keep && keepIt && entry.snapshot != null) {
                synchronized (BaseModels.this) {
                    // a batch that moved on to another model on this backend does not hold the old one too
                    for (int i = idle.size() - 1; i >= 0; i--) {
                        Entry e = idle.get(i);
                        if (!e.backend.equals(entry.backend) || e.model == null || e.model.equals(entry.model)) continue;
                        e.closeModel();
                        idle.remove(i);
                    }
                    idle.add(entry);
                }
            } else {
                entry.closeModel();
            }
        }
    }

    private static final class Entry {
        final BackendKey backend;
        final Ops ops;
        ModelKey model;
        TuneAVideoPipeline pipeline;
        TrainableSnapshot snapshot;

        Entry(BackendKey backend, Ops ops) {
            this.backend = backend;
            this.ops = ops;
        }

        void closeModel() {
            if (snapshot != null) snapshot.close();
            if (pipeline != null) pipeline.close();
            snapshot = null;
            pipeline = null;
            model = null;
        }
    }
}
