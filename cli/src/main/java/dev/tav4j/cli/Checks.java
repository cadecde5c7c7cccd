package dev.tav4j.cli;

import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.runtime.HostMemory;
import dev.tav4j.runtime.HostOutOfMemoryException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The checks every computing command makes before it loads or computes anything. Each message names the setting
 * as the user wrote it (the flag, or the YAML key with its section) and what would be accepted.
 */
final class Checks {
    private Checks() {}

    static int atLeast(String name, int value, int min) {
        if (value < min) throw new IllegalArgumentException(name + " must be at least " + min + ", got " + value);
        return value;
    }

    /** A number of DDIM or tuning steps. */
    static int steps(String name, int value) {
        return atLeast(name, value, 1);
    }

    /**
     * The DDIM steps of a sampling or an inversion: 1 up to the model's num_train_timesteps (1000 for Stable
     * Diffusion). diffusers' set_timesteps refuses more, and so does DdimScheduler, but only once it is built: after
     * loading, or after all the tuning for validation. Reads the scheduler config only.
     */
    static int ddimSteps(String name, int value, Path model) {
        return ddimSteps(name, value, CheckpointDir.open(model));
    }

    static int ddimSteps(String name, int value, CheckpointDir model) {
        steps(name, value);
        int max = model.schedulerConfig().numTrainTimesteps();
        if (value > max)
            throw new IllegalArgumentException(name + " must be at most " + max + ", the num_train_timesteps of " + model.dir()
                    + (model.isSingleFile() ? "'s scheduler config" : "/scheduler") + " (one DDIM step per training timestep at most), got " + value);
        return value;
    }

    /** A finite float (NaN or infinite guidance would silently give a black video). */
    static double finite(String name, double value) {
        if (!Double.isFinite(value)) throw new IllegalArgumentException(name + " must be a finite number, got " + value);
        return value;
    }

    static double positive(String name, double value) {
        if (!(finite(name, value) > 0)) throw new IllegalArgumentException(name + " must be positive, got " + value);
        return value;
    }

    /** Frames and a frame size: positive, multiples of 8, and frames the host can hold (checked in long, so no overflow). */
    static void shape(String framesName, int frames, String heightName, int height, String widthName, int width) {
        atLeast(framesName, frames, 1);
        if (height <= 0 || height % 8 != 0 || width <= 0 || width % 8 != 0)
            throw new IllegalArgumentException(heightName + " and " + widthName + " must be positive multiples of 8, got "
                    + width + "x" + height);
        // the frames as images and as floats, on the host whatever the backend: 80000² or 100000 frames stop here
        double bytes = (double) frames * height * width * 3 * 4 * 2;
        long available = HostMemory.availableBytes();
        if (bytes > available || bytes > Long.MAX_VALUE / 2)
            throw new HostOutOfMemoryException("not enough memory for the frames: " + frames + " frames of " + width + "x" + height + " (" + framesName + ", " + widthName
                    + ", " + heightName + ") need about " + HostMemory.format((long) Math.min(bytes, Long.MAX_VALUE / 2))
                    + " on the host before any model, " + HostMemory.format(available) + " available; use fewer frames or a smaller size");
    }

    /**
     * An output file: its folder is created and proved writable (a file is created and deleted there: permission bits
     * say nothing when running as root), before any work, so a bad path never costs the compute.
     */
    static void outputFile(String name, Path file) {
        if (Files.isDirectory(file)) throw new IllegalArgumentException(name + " " + file + " is a folder, not a file");
        Path dir = file.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
            Files.delete(Files.createTempFile(dir, ".tav-write-test", ".tmp"));
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            throw new IllegalArgumentException(name + " " + file + ": cannot write in " + dir + " (" + reason(e) + "); choose another path", e);
        }
    }

    /** An output folder: created and proved writable before any work. */
    static void outputFolder(String name, Path out) {
        if (Files.exists(out) && !Files.isDirectory(out))
            throw new IllegalArgumentException("output folder " + out + " (" + name + ") is a file, not a folder");
        try {
            Files.createDirectories(out);
            Files.delete(Files.createTempFile(out, ".tav-write-test", ".tmp"));
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            throw new IllegalArgumentException("output folder " + out + " (" + name + ") cannot be written: " + reason(e), e);
        }
    }

    private static String reason(Exception e) {
        return switch (e) {
            case java.nio.file.NoSuchFileException n -> "cannot create " + n.getFile();
            case java.nio.file.AccessDeniedException a -> "permission denied: " + a.getFile();
            case java.nio.file.FileSystemException f when f.getReason() != null -> f.getReason() + (f.getFile() == null ? "" : ": " + f.getFile());
            default -> e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        };
    }
}
