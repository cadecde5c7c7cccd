package dev.tav4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.config.Json;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Runs the PyTorch bench script ({@code bench/pytorch/tav_torch_bench.py}) as a subprocess with the same shapes,
 * steps, precision and device as tav4j's stages, and reads the JSON it writes:
 * {@code {"torch": version, "device": name, "precision", "frames", "latent", "stages": {"tune": {"ms_per_step",
 * "peak_bytes"}, "invert": {…}, "edit": {…}}}}. Its output is echoed to the log, prefixed {@code torch| }.
 */
public final class TorchBench {
    /** Exit status of the script when torch cannot be imported. */
    static final int NO_TORCH = 3;

    /** One stage of the script's result (peakBytes -1 where PyTorch does not track it: the CPU). */
    public record Stage(double msPerStep, long peakBytes) {}

    /** The script's result: the parsed JSON and its text. */
    public record Result(JsonNode json, String text) {
        public String torchVersion() { return json.path("torch").asText("?"); }

        public String device() { return json.path("device").asText("?"); }

        /** The stage's figures, or null when the script did not run it. */
        public Stage stage(String name) {
            JsonNode s = json.path("stages").path(name);
            if (!s.has("ms_per_step")) return null;
            JsonNode peak = s.path("peak_bytes");
            return new Stage(s.get("ms_per_step").asDouble(), peak.isNumber() ? peak.asLong() : -1);
        }
    }

    /** What the script is asked to run. */
    public record Spec(Path unet, int frames, int latent, int steps, int warmup, String precision, String device, int threads,
                       List<String> stages) {}

    private TorchBench() {}

    /** The command line: {@code python script --unet DIR --frames … --json OUT}. */
    public static List<String> command(String python, Path script, Spec s, Path json) {
        List<String> c = new ArrayList<>(List.of(python, script.toString(), "--unet", s.unet().toString(),
                "--frames", Integer.toString(s.frames()), "--latent", Integer.toString(s.latent()),
                "--steps", Integer.toString(s.steps()), "--warmup", Integer.toString(s.warmup()),
                "--precision", s.precision(), "--device", s.device(), "--stages", String.join(",", s.stages()),
                "--json", json.toString()));
        if (s.threads() > 0) c.addAll(List.of("--threads", Integer.toString(s.threads())));
        return c;
    }

    /**
     * Checks that {@code python} runs and imports torch, before anything costly (writing gigabytes of weights);
     * returns the torch version it reports.
     */
    public static String probe(String python) {
        Process p;
        try {
            p = new ProcessBuilder(python, "-c", "import torch, sys; print(torch.__version__)").redirectErrorStream(true).start();
        } catch (IOException e) {
            throw cannotRun(python, e);
        }
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.waitFor() != 0) {
                String last = out.lines().reduce((a, b) -> b).orElse("(no output)");
                throw new TorchBenchException("--torch " + python + ": PyTorch is not importable by this interpreter: " + last);
            }
            return out.lines().reduce((a, b) -> b).orElse("?");
        } catch (IOException e) {
            throw new UncheckedIOException("--torch " + python + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TorchBenchException("interrupted while probing " + python);
        }
    }

    private static TorchBenchException cannotRun(String python, IOException e) {
        return new TorchBenchException("--torch " + python + ": cannot run this Python interpreter (" + e.getMessage()
                + "); give the path of a Python with PyTorch installed, e.g. --torch python3");
    }

    /** Runs the script with {@code python}; fails with a message that names the interpreter and what went wrong. */
    public static Result run(String python, Path script, Spec spec, PrintStream log) {
        Path json = null;
        try {
            json = Files.createTempFile("tav-torch-bench", ".json");
            Files.delete(json); // the script writes it (atomically); absent means it wrote nothing
            List<String> cmd = command(python, script, spec, json);
            log.println("running: " + String.join(" ", cmd));
            Process p;
            try {
                p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            } catch (IOException e) {
                throw cannotRun(python, e);
            }
            Deque<String> tail = echo(p, log);
            int code = p.waitFor();
            if (code == NO_TORCH)
                throw new TorchBenchException("--torch " + python + ": PyTorch is not importable by this interpreter: " + String.join(" | ", tail));
            if (code != 0)
                throw new TorchBenchException("the PyTorch bench (" + python + " " + script + ") failed with exit status " + code
                        + "; its last output: " + String.join(" | ", tail));
            if (!Files.isRegularFile(json))
                throw new TorchBenchException("the PyTorch bench (" + python + " " + script + ") exited 0 but wrote no result to " + json);
            String text = Files.readString(json, StandardCharsets.UTF_8).strip();
            JsonNode root;
            try {
                root = Json.MAPPER.readTree(text);
            } catch (IOException e) {
                throw new TorchBenchException("the PyTorch bench wrote a result that is not JSON (" + json + "): " + e.getMessage());
            }
            if (root == null || !root.path("stages").isObject())
                throw new TorchBenchException("the PyTorch bench's result has no \"stages\" object: " + text);
            return new Result(root, text);
        } catch (IOException e) {
            throw new UncheckedIOException("PyTorch bench: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TorchBenchException("interrupted while the PyTorch bench ran");
        } finally {
            if (json != null) try { Files.deleteIfExists(json); } catch (IOException ignored) { /* temporary file */ }
        }
    }

    /** Copies the process's output to the log; returns its last lines (for error messages). */
    private static Deque<String> echo(Process p, PrintStream log) throws IOException {
        Deque<String> tail = new ArrayDeque<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                log.println("torch| " + line);
                tail.addLast(line);
                if (tail.size() > 8) tail.removeFirst();
            }
        }
        return tail;
    }

    /** The PyTorch side could not be run or gave no usable result. */
    public static final class TorchBenchException extends RuntimeException {
        public TorchBenchException(String message) { super(message); }
    }
}
