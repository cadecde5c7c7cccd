package dev.tav4j.cli;

import dev.tav4j.model.pipeline.Progress;

import java.util.Locale;

/** A one-line progress bar on stderr: stage, step/total, it/s and ETA. */
final class ConsoleProgress implements Progress {
    private long start = System.nanoTime(); // a stage starts when the previous one ended (or at creation)

    @Override public void step(String stage, int step, int total) {
        long now = System.nanoTime();
        double sec = (now - start) / 1e9;
        double rate = step / Math.max(sec, 1e-9);
        int width = 24, done = (int) ((long) width * step / Math.max(1, total));
        String bar = "#".repeat(done) + "-".repeat(width - done);
        System.err.printf(Locale.ROOT, "\r%-7s [%s] %d/%d  %.2f it/s  ETA %.0f s ", stage, bar, step, total, rate, (total - step) / Math.max(rate, 1e-9));
        if (step == total) {
            System.err.println();
            start = now;
        }
    }
}
