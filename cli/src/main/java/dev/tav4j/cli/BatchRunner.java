package dev.tav4j.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.tav4j.model.tune.TuneCheckpoint;
import dev.tav4j.runtime.BackendSettings;
import dev.tav4j.runtime.DType;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Runs the jobs of a {@link BatchJobs} file: {@link #runJob} one job (what {@code tav batch} and a Spark task call),
 * {@link #runAll} every job with one worker per device. Each job is {@code tav run} on its config, in OUT_ROOT/ID
 * (the official layout), plus edited/ (the videos of the last validation, one per edit prompt) and result.json.
 * Idempotent: a job whose result.json says ok is skipped; any other job with a complete checkpoint resumes from it.
 */
public final class BatchRunner {
    /** Statuses of result.json; RUNNING is on disk while a job runs (a killed run leaves it: the rerun resumes). */
    public static final String OK = "ok", FAILED = "failed", INTERRUPTED = "interrupted", RUNNING = "running", NOT_RUN = "not run";
    public static final String RESULT = "result.json";

    /**
     * A job's record (result.json). {@code skipped}: finished by an earlier run, not run again; {@code resumedFromStep}:
     * the checkpoint's step this run continued from (0: from the start); {@code losses}: the loss of each step this run
     * made (steps resumedFromStep+1 on); {@code baseModel}: "loaded" for this job, or "reused" (kept loaded from an
     * earlier job of the same process: a tav batch worker, a Spark executor).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record JobResult(String id, String status, String reason, String device, String backend, String started, String finished,
                            Double seconds, Map<String, Double> stages, Integer steps, Double lastLoss, Integer resumedFromStep,
                            List<Double> losses, List<String> edited, Boolean skipped, Map<String, Eval> eval, String baseModel) {
        /** A record without the base model's origin. */
        public JobResult(String id, String status, String reason, String device, String backend, String started, String finished,
                         Double seconds, Map<String, Double> stages, Integer steps, Double lastLoss, Integer resumedFromStep,
                         List<Double> losses, List<String> edited, Boolean skipped, Map<String, Eval> eval) {
            this(id, status, reason, device, backend, started, finished, seconds, stages, steps, lastLoss, resumedFromStep, losses, edited,
                    skipped, eval, null);
        }

        /** A record without eval metrics. */
        public JobResult(String id, String status, String reason, String device, String backend, String started, String finished,
                         Double seconds, Map<String, Double> stages, Integer steps, Double lastLoss, Integer resumedFromStep,
                         List<Double> losses, List<String> edited, Boolean skipped) {
            this(id, status, reason, device, backend, started, finished, seconds, stages, steps, lastLoss, resumedFromStep, losses, edited,
                    skipped, null);
        }

        public boolean ok() { return OK.equals(status); }
    }

    /** tav eval's metrics of one edited video against its edit prompt (the paper's Table 1: CLIP score means). */
    public record Eval(String prompt, int frames, double frameConsistency, double textAlignment) {}

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private BatchRunner() {}

    /**
     * Every job's config checked as {@code tav run} checks one (keys, values, the model's files), before any compute;
     * the first problem is one line naming the jobs file, the job and the key. A missing video is the job's own failure.
     */
    public static void check(BatchJobs jobs) {
        for (BatchJobs.Job j : jobs.jobs()) {
            TuneConfig c = config(jobs, j, j.config());
            if (!c.unknownKeys().isEmpty())
                throw new IllegalArgumentException(c.file() + ": unknown setting " + String.join(", ", c.unknownKeys())
                        + " (the keys of an official Tune-A-Video config, see tav run)");
            RunCommand.precision(c.mixedPrecision(), null, c.at("mixed_precision"));
            RunCommand.plan(c, null);
            if (j.evalClip() != null) {
                if (j.editPrompts().isEmpty())
                    throw new IllegalArgumentException(c.file() + ": eval_clip with no edit_prompts: there is no edited video to score");
                try {
                    dev.tav4j.model.clip.ClipModel.check(j.evalClip());  // config, tokenizer and preprocessor, before any compute
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException(c.file() + ": eval_clip " + j.evalClip() + ": " + Errors.describe(e), e);
                }
            }
        }
    }

    private static TuneConfig config(BatchJobs jobs, BatchJobs.Job j, ObjectNode node) {
        return TuneConfig.of(node, jobs.file() + ", job '" + j.id() + "'", Map.of());
    }

    /** The job's record as on disk; null when it has none yet (or an unreadable one: it runs again). */
    public static JobResult readResult(Path jobDir) {
        Path f = jobDir.resolve(RESULT);
        if (!Files.isRegularFile(f)) return null;
        try {
            return JSON.readValue(f.toFile(), JobResult.class);
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Runs job {@code id} of {@code jobs} on backend {@code device} (cpu, cuda, auto); {@code label} names the device
     * in the record (e.g. "gpu 1", "cpu"). Never throws for the job's own failure: it is the record's reason. The
     * process's environment (TAV_* variables, -Dtav.*) is read here, as a command line's entry point reads it.
     */
    public static JobResult runJob(BatchJobs jobs, String id, String device, String label) {
        return runJob(jobs, jobs.job(id), device, label, CliEnvironment.read());
    }

    static JobResult runJob(BatchJobs jobs, BatchJobs.Job job, String device, String label, CliEnvironment env) {
        Path dir = jobs.outRoot().resolve(job.id());
        JobResult before = readResult(dir);
        if (before != null && before.ok())
            return new JobResult(before.id(), OK, before.reason(), before.device(), before.backend(), before.started(), before.finished(),
                    before.seconds(), before.stages(), before.steps(), before.lastLoss(), before.resumedFromStep(), before.losses(),
                    before.edited(), true, before.eval(), before.baseModel());
        String started = Instant.now().toString();
        long t0 = System.nanoTime();
        TuneLauncher.Report report = new TuneLauncher.Report();
        int resumedFrom = 0;
        String status, reason = null;
        List<String> edited = null;
        Map<String, Eval> eval = null;
        TuneConfig c = null;
        try {
            ObjectNode node = job.config().deepCopy();
            var latest = Files.isDirectory(dir) ? TuneCheckpoint.latest(dir) : java.util.Optional.<Path>empty();
            Files.createDirectories(dir);
            // the config as the official script keeps it (OUT/config.yaml); the resume below is this run's, not the job's
            Path configFile = dir.resolve("config.yaml");
            writeAtomically(configFile, YAML.writeValueAsString(node));
            if (latest.isPresent()) {
                node.put("resume_from_checkpoint", "latest");
                resumedFrom = TuneCheckpoint.stepOf(latest.get());
            }
            c = config(jobs, job, node);
            writeResult(dir, new JobResult(job.id(), RUNNING, null, label, null, started, null, null, null, null, null, resumedFrom,
                    null, null, null));
            DType precision = RunCommand.precision(c.mixedPrecision(), null, c.at("mixed_precision"));
            TuneLauncher.Plan plan = RunCommand.plan(c, configFile);
            String mixed = c.mixedPrecision();
            BackendSettings settings = env.backend().withPrecision(precision);
            // the base model stays loaded for the next job of this process (docs/scale.md)
            int code = TuneLauncher.execute(plan, env, new BaseModels.BackendKey(device, settings),
                    () -> RunCommand.open(device, settings, mixed), report, BaseModels.PROCESS);
            if (code == TuneLauncher.CANCELLED) {
                status = INTERRUPTED;
                reason = "cancelled" + TuneCheckpoint.latest(dir).map(p -> "; the next run resumes from " + p.getFileName())
                        .orElse(" before the first checkpoint; the next run starts again");
            } else if (code != 0) {
                status = FAILED;
                reason = "tav run exited with " + code;
            } else {
                edited = collectEdited(dir, c.maxTrainSteps(), job.editPrompts().size());
                if (job.evalClip() != null) eval = evaluate(job, dir, device, env);
                status = OK;
            }
        } catch (Throwable e) {  // the job's failure is its record; the other jobs go on
            if (e instanceof VirtualMachineError && !(e instanceof OutOfMemoryError)) throw (VirtualMachineError) e;
            status = FAILED;
            reason = Errors.report(e, null);
        }
        List<Double> losses;
        synchronized (report.losses) { losses = List.copyOf(report.losses); }
        Double last = null;  // (no ?: here: a null Double in a ternary with a double unboxes)
        if (!Float.isNaN(report.lastLoss)) last = (double) report.lastLoss;
        else if (!losses.isEmpty()) last = losses.getLast();
        JobResult r = new JobResult(job.id(), status, reason, label, report.backend, started, Instant.now().toString(),
                round((System.nanoTime() - t0) / 1e9), roundAll(report.stages), report.steps >= 0 ? report.steps : null, last,
                resumedFrom, losses, edited, null, eval, report.baseModel);
        try {
            writeResult(dir, r);
        } catch (RuntimeException e) {
            return new JobResult(r.id(), FAILED, Errors.report(e, null), label, r.backend(), started, r.finished(), r.seconds(),
                    r.stages(), r.steps(), r.lastLoss(), resumedFrom, losses, edited, null);
        }
        return r;
    }

    /**
     * The edit prompts' videos of the last validation (samples/sample-STEPS/*.gif) copied to edited/, as paths
     * relative to the job's folder; fewer than the prompts is an error (a run resumed after its last validation).
     */
    private static List<String> collectEdited(Path dir, int steps, int prompts) throws IOException {
        if (prompts == 0) return List.of();
        Path samples = dir.resolve("samples").resolve("sample-" + steps), edited = dir.resolve("edited");
        List<Path> gifs;
        try (Stream<Path> s = Files.isDirectory(samples) ? Files.list(samples) : Stream.empty()) {
            gifs = s.filter(p -> p.getFileName().toString().endsWith(".gif")).sorted().toList();
        }
        if (gifs.size() < prompts)
            throw new IllegalStateException("the edited videos of step " + steps + " are missing from " + samples
                    + " (the run was resumed after its last validation?); delete " + dir + " to run the job again");
        Files.createDirectories(edited);
        List<String> out = new ArrayList<>();
        for (Path g : gifs) {
            Path tmp = edited.resolve("." + g.getFileName() + ".part"), dst = edited.resolve(g.getFileName());
            Files.copy(g, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, dst, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            out.add(dir.relativize(dst).toString());
        }
        return out;
    }

    /**
     * tav eval on each edited video (edited/PROMPT.gif) against its prompt, with the job's CLIP model on a backend of
     * the job's device (opened again: the tuning's is done). Keyed by the video's path in the job's folder.
     */
    private static Map<String, Eval> evaluate(BatchJobs.Job job, Path dir, String device, CliEnvironment env) {
        Map<String, Eval> out = new LinkedHashMap<>();
        dev.tav4j.runtime.Ops ops = DeviceOption.select(device, env.backend());
        try (dev.tav4j.model.clip.ClipModel model = dev.tav4j.model.clip.ClipModel.load(ops, job.evalClip())) {
            for (String prompt : job.editPrompts()) {
                Path gif = dir.resolve("edited").resolve(dev.tav4j.model.pipeline.TuneJob.safeName(prompt) + ".gif");
                var s = dev.tav4j.model.clip.ClipMetrics.evaluate(model, dev.tav4j.video.VideoReader.readAll(gif), prompt);
                out.put(dir.relativize(gif).toString(), new Eval(prompt, s.frames(), s.frameConsistency(), s.textAlignment()));
            }
        }
        return out;
    }

    /** result.json, whole or not at all: a temp file moved into place. */
    static void writeResult(Path dir, JobResult r) {
        try {
            writeAtomically(dir.resolve(RESULT), JSON.writeValueAsString(r));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(RESULT) + ": " + e.getMessage(), e);
        }
    }

    private static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".part");
        Files.writeString(tmp, text);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * A worker: jobs run on backend {@code backend}; {@code gpu} null: in this process; else each job in a child JVM
     * that sees only that GPU (CUDA_VISIBLE_DEVICES), as tav4j's CUDA backend opens the first GPU it sees.
     */
    public record Worker(String backend, String gpu) {
        String label() {
            return gpu == null ? backend : "gpu " + gpu + (backend.equals("cuda") || backend.equals("auto") ? "" : " (" + backend + " backend)");
        }
    }

    /** {@link #runAll(BatchJobs, List, List, PrintStream)} with one in-process worker per backend name. */
    public static List<JobResult> runAll(BatchJobs jobs, List<String> devices, PrintStream log) {
        return runAll(jobs, devices.stream().map(d -> new Worker(d, null)).toList(), List.of(), log, CliEnvironment.read());
    }

    /**
     * Every job, in file order, one worker each in {@code workers}; a job's failure is recorded and the others go on;
     * a cancelled job (Ctrl-C) stops the batch after the running jobs (the rest are "not run", the next run takes
     * them). {@code childArgs}: the tav arguments that select these jobs (batch JOBS --out ROOT [--base B]), for the
     * workers with a GPU. Progress to {@code log}: a line per job start and end, with the totals.
     */
    public static List<JobResult> runAll(BatchJobs jobs, List<Worker> workers, List<String> childArgs, PrintStream log) {
        return runAll(jobs, workers, childArgs, log, CliEnvironment.read());
    }

    static List<JobResult> runAll(BatchJobs jobs, List<Worker> workers, List<String> childArgs, PrintStream log, CliEnvironment env) {
        if (workers.isEmpty()) throw new IllegalArgumentException("no device to run the jobs on");
        int n = jobs.jobs().size();
        Map<Integer, JobResult> results = new ConcurrentHashMap<>();
        AtomicInteger next = new AtomicInteger(), done = new AtomicInteger(), failed = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        long t0 = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < workers.size(); w++) {
            Worker worker = workers.get(w);
            String label = worker.label();
            threads.add(Thread.ofPlatform().name("tav-batch-" + w).start(() -> {
                for (int i; !stop.get() && (i = next.getAndIncrement()) < n; ) {
                    BatchJobs.Job job = jobs.jobs().get(i);
                    log.printf(Locale.ROOT, "batch: [%d/%d] %s: starting on %s%n", i + 1, n, job.id(), label);
                    JobResult r;
                    try {
                        r = worker.gpu() == null ? runJob(jobs, job, worker.backend(), label, env) : runChild(jobs, job, worker, childArgs, env);
                    } catch (RuntimeException | Error e) {  // a bug in the runner itself: still one job's record, the worker goes on
                        r = new JobResult(job.id(), FAILED, Errors.report(e, null), label, null, null, null, null, null, null, null, null,
                                null, null, null);
                    }
                    results.put(i, r);
                    if (!r.ok()) failed.incrementAndGet();
                    if (INTERRUPTED.equals(r.status())) stop.set(true);
                    log.printf(Locale.ROOT, "batch: [%d/%d] %s: %s%s (%d of %d done, %d not ok, %.1f s so far)%n", i + 1, n, job.id(),
                            Boolean.TRUE.equals(r.skipped()) ? "already done, skipped" : r.status() + (r.seconds() == null ? "" : " in " + r.seconds() + " s"),
                            r.reason() == null ? "" : ": " + r.reason(), done.incrementAndGet(), n, failed.get(), (System.nanoTime() - t0) / 1e9);
                }
            }));
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stop.set(true);
            }
        }
        List<JobResult> out = new ArrayList<>();
        for (int i = 0; i < n; i++)
            out.add(results.getOrDefault(i, new JobResult(jobs.jobs().get(i).id(), NOT_RUN, "the batch stopped before it", null, null,
                    null, null, null, null, null, null, null, null, null, null)));
        return out;
    }

    /** The job in a child JVM (this one's java, flags and class path) that sees only the worker's GPU; its output in OUT/ID/batch.log. */
    private static JobResult runChild(BatchJobs jobs, BatchJobs.Job job, Worker worker, List<String> childArgs, CliEnvironment env) {
        Path dir = jobs.outRoot().resolve(job.id());
        JobResult before = readResult(dir);
        if (before != null && before.ok()) return runJob(jobs, job, worker.backend(), worker.label(), env);  // the skip, as in-process
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(childArgs);
        cmd.addAll(List.of("--only", job.id(), "--device", worker.backend(), "--label", worker.label()));
        Process p;
        try {
            Files.createDirectories(dir);
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("batch.log").toFile()));
            pb.environment().put("CUDA_VISIBLE_DEVICES", worker.gpu());
            p = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the worker process of job " + job.id() + ": " + e.getMessage(), e);
        }
        // SIGTERM to this process reaches the children too: each stops at a step boundary and records "interrupted"
        Thread hook = new Thread(() -> {
            p.destroy();
            try {
                p.waitFor(env.cancelWaitSeconds(), java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "tav-batch-child");
        Runtime.getRuntime().addShutdownHook(hook);
        int code;
        try {
            code = p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroy();
            code = -1;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running
            }
        }
        JobResult r = readResult(dir);
        if (r == null || RUNNING.equals(r.status()))
            return new JobResult(job.id(), FAILED, "its worker process exited with code " + code + " (see " + dir.resolve("batch.log") + ")",
                    worker.label(), null, null, null, null, null, null, null, null, null, null, null);
        return r;
    }

    /**
     * Closes the base models this process keeps loaded between jobs (a service that ran a batch and moves on; the
     * next job loads again).
     */
    public static void closeKeptModels() {
        BaseModels.PROCESS.clear();
    }

    /** The summary table: a row per job (id, status, device, seconds, steps, last loss, reason). */
    public static String summary(List<JobResult> results) {
        int w = Math.max(2, results.stream().mapToInt(r -> r.id().length()).max().orElse(2));
        int d = Math.max(6, results.stream().mapToInt(r -> r.device() == null ? 1 : r.device().length()).max().orElse(6));
        String row = "%-" + w + "s  %-12s %-" + d + "s %9s %6s %10s  %s%n";
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, row, "id", "status", "device", "seconds", "steps", "last loss",
                "reason / edited"));
        for (JobResult r : results) {
            String status = r.status() + (Boolean.TRUE.equals(r.skipped()) ? " (kept)" : "");
            String tail = r.reason() != null ? r.reason() : r.edited() == null ? "" : String.join(", ", r.edited());
            sb.append(String.format(Locale.ROOT, row, r.id(), status, r.device() == null ? "-" : r.device(),
                    r.seconds() == null ? "-" : String.format(Locale.ROOT, "%.1f", r.seconds()), r.steps() == null ? "-" : r.steps(),
                    r.lastLoss() == null ? "-" : String.format(Locale.ROOT, "%.6f", r.lastLoss()), tail));
        }
        long ok = results.stream().filter(JobResult::ok).count();
        sb.append(String.format(Locale.ROOT, "%d of %d jobs ok%n", ok, results.size()));
        List<JobResult> ran = results.stream().filter(r -> r.baseModel() != null && !Boolean.TRUE.equals(r.skipped())).toList();
        long reused = ran.stream().filter(r -> "reused".equals(r.baseModel())).count();
        if (reused > 0)
            sb.append(reused == ran.size()
                    ? String.format(Locale.ROOT, "base model: all %d jobs reused one their worker kept loaded%n", ran.size())
                    : String.format(Locale.ROOT, "base model: loaded for %d of %d jobs; the others reused one their worker kept loaded%n",
                            ran.size() - reused, ran.size()));
        return sb.toString();
    }

    private static Double round(double s) {
        return Math.round(s * 1000) / 1000.0;
    }

    private static Map<String, Double> roundAll(Map<String, Double> m) {
        Map<String, Double> r = new LinkedHashMap<>();
        m.forEach((k, v) -> r.put(k, round(v)));
        return r;
    }
}
