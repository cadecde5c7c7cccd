package dev.tav4j.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tav4j.cli.BatchJobs;
import dev.tav4j.cli.BatchRunner;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.resource.ResourceProfile;
import org.apache.spark.resource.ResourceProfileBuilder;
import org.apache.spark.resource.TaskResourceRequests;

import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/**
 * {@code tav batch JOBS --spark MASTER} as a spark-submit-able main: every job of a jobs file is a Spark job of one
 * task (so the Spark UI lists each by its id), run on an executor through {@link BatchRunner#runJob} — the code
 * {@code tav batch} runs locally — into a shared output folder. With {@code --gpu} every task asks for one GPU
 * (a task resource profile) and runs on the GPU Spark gave it ({@code TaskContext.resources()}); without, on the CPU.
 *
 * <pre>
 * spark-submit --class dev.tav4j.spark.SparkBatch --master spark://host:7077 tav4j-spark.jar JOBS [--out DIR] [--base CONFIG.yaml]
 *     [--gpu] [--backend cuda|cpu]
 * </pre>
 */
public final class SparkBatch {
    /**
     * What the driver hands each task: plain values (paths as strings, as a Path is not serializable); the executors
     * re-read the jobs file from the shared path. {@code base}, {@code out}, {@code backend}: null for the defaults.
     */
    public record Settings(String jobs, String base, String out, boolean gpu, String backend) implements Serializable {
        Path jobsPath() { return Path.of(jobs); }
        Path basePath() { return base == null ? null : Path.of(base); }
        Path outPath() { return out == null ? null : Path.of(out); }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private SparkBatch() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * The command line run (also what {@code tav batch JOBS --spark MASTER} calls where this module and Spark are on
     * the class path); returns the exit status: 0 all jobs ok, 1 one is not, 2 a bad argument or jobs file (one line).
     */
    public static int run(String... args) {
        Args a;
        try {
            a = Args.parse(args);
            // the jobs file is checked before a SparkContext exists: a mistake costs no cluster time
            BatchRunner.check(BatchJobs.read(a.settings.jobsPath(), a.settings.basePath(), a.settings.outPath()));
        } catch (IllegalArgumentException e) {  // a user's mistake: one line, no trace
            System.err.println("tav: " + e.getMessage());
            return 2;
        }
        SparkConf conf = new SparkConf().setAppName("tav batch");
        if (a.master != null) conf.setMaster(a.master);
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            List<BatchRunner.JobResult> r = run(sc, a.settings, System.err);
            System.out.print(BatchRunner.summary(r));
            return r.stream().allMatch(BatchRunner.JobResult::ok) ? 0 : 1;
        }
    }

    /**
     * Runs every job on {@code sc}; the jobs file is read and checked whole here, on the driver, before any task.
     * Returns the jobs' records in file order.
     */
    public static List<BatchRunner.JobResult> run(JavaSparkContext sc, Settings s, PrintStream log) {
        BatchJobs jobs = BatchJobs.read(s.jobsPath(), s.basePath(), s.outPath());
        BatchRunner.check(jobs);
        Settings abs = new Settings(jobs.file().toString(), s.base() == null ? null : s.basePath().toAbsolutePath().toString(),
                jobs.outRoot().toString(), s.gpu(), s.backend());
        ResourceProfile profile = s.gpu()
                ? new ResourceProfileBuilder().require(new TaskResourceRequests().cpus(1).resource("gpu", 1.0)).build() : null;
        log.printf(Locale.ROOT, "tav batch on Spark (%s): %d jobs from %s into %s, %s%n", sc.master(), jobs.jobs().size(), jobs.file(),
                jobs.outRoot(), s.gpu() ? "one GPU per task" : "CPU tasks");
        JobStarts starts = new JobStarts(log);
        sc.sc().addSparkListener(starts);
        List<JavaFutureAction<List<String>>> running = new ArrayList<>();
        for (BatchJobs.Job j : jobs.jobs()) {
            // one Spark job per tav job: the UI names it, and a free slot takes the next one in file order (FIFO)
            sc.setJobGroup("tav-" + j.id(), "tav job " + j.id(), true);
            JavaRDD<String> one = sc.parallelize(List.of(j.id()), 1);
            if (profile != null) one = one.withResources(profile);
            running.add(one.map(id -> runTask(abs, id)).collectAsync());
        }
        sc.clearJobGroup();
        try {
            return collect(jobs, running, log);
        } finally {
            sc.sc().removeSparkListener(starts);
        }
    }

    private static List<BatchRunner.JobResult> collect(BatchJobs jobs, List<JavaFutureAction<List<String>>> running, PrintStream log) {
        List<BatchRunner.JobResult> out = new ArrayList<>();
        for (int i = 0; i < running.size(); i++) {
            String id = jobs.jobs().get(i).id();
            BatchRunner.JobResult r;
            try {
                r = JSON.readValue(running.get(i).get().getFirst(), BatchRunner.JobResult.class);
            } catch (ExecutionException e) {  // the task itself failed (e.g. its executor was lost) after Spark's retries
                r = new BatchRunner.JobResult(id, BatchRunner.FAILED, "spark: " + oneLine(e.getCause()), null, null, null, null, null, null,
                        null, null, null, null, null, null);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for job " + id, e);
            } catch (java.io.IOException e) {
                throw new IllegalStateException("job " + id + ": unreadable record from its task: " + e.getMessage(), e);
            }
            log.printf(Locale.ROOT, "tav batch: [%d/%d] %s: %s%s%n", i + 1, running.size(), id,
                    Boolean.TRUE.equals(r.skipped()) ? "already done, skipped" : r.status(), r.reason() == null ? "" : ": " + r.reason());
            out.add(r);
        }
        return out;
    }

    /** Progress: a line when a tav job's task starts, naming its executor and host (the driver's end lines follow). */
    static final class JobStarts extends org.apache.spark.scheduler.SparkListener {
        private final PrintStream log;
        private final Map<Integer, String> stageJob = new java.util.concurrent.ConcurrentHashMap<>();

        JobStarts(PrintStream log) { this.log = log; }

        @Override public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart e) {
            String group = e.properties() == null ? null : e.properties().getProperty("spark.jobGroup.id");
            if (group == null || !group.startsWith("tav-")) return;
            scala.jdk.javaapi.CollectionConverters.asJava(e.stageIds()).forEach(s -> stageJob.put((Integer) s, group.substring(4)));
        }

        @Override public void onTaskStart(org.apache.spark.scheduler.SparkListenerTaskStart e) {
            String id = stageJob.get(e.stageId());
            if (id != null) log.printf(Locale.ROOT, "tav batch: %s: started on executor %s (%s), attempt %d%n", id, e.taskInfo().executorId(),
                    e.taskInfo().host(), e.taskInfo().attemptNumber() + 1);
        }
    }

    /** On an executor: the job on the device Spark assigned (a GPU address) or the CPU; the record as JSON. */
    static String runTask(Settings s, String id) throws Exception {
        TaskContext tc = TaskContext.get();
        Map<String, ResourceInformation> res = tc == null ? Map.of() : tc.resourcesJMap();
        ResourceInformation gpu = res.get("gpu");
        String backend, label;
        if (gpu != null && gpu.addresses().length > 0) {
            String address = gpu.addresses()[0];
            backend = s.backend() == null ? "cuda" : s.backend();
            label = "gpu " + address + (backend.equals("cuda") ? "" : " (" + backend + " backend)");
            // the CUDA backend opens the first visible device: the assigned one must be it (docs/scale.md)
            if (backend.equals("cuda") && !address.equals("0") && !address.equals(System.getenv("CUDA_VISIBLE_DEVICES"))) {
                return JSON.writeValueAsString(new BatchRunner.JobResult(id, BatchRunner.FAILED, "Spark assigned GPU " + address
                        + ", but tav4j's CUDA backend opens the first visible GPU; give each executor one GPU it alone sees "
                        + "(spark.executor.resource.gpu.amount=1 with YARN or Kubernetes isolation, or CUDA_VISIBLE_DEVICES)", label,
                        null, null, null, null, null, null, null, null, null, null, null));
            }
        } else {
            backend = s.backend() == null ? "cpu" : s.backend();
            label = backend;
        }
        BatchJobs jobs = BatchJobs.read(s.jobsPath(), s.basePath(), s.outPath());
        return JSON.writeValueAsString(BatchRunner.runJob(jobs, id, backend, label));
    }

    private static String oneLine(Throwable t) {
        String m = t == null ? "unknown" : t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return m.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /** The command line: JOBS [--master M] [--out DIR] [--base CONFIG.yaml] [--gpu] [--backend B]. */
    record Args(String master, Settings settings) {
        static Args parse(String[] args) {
            String master = null, backend = null, jobs = null, base = null, out = null;
            boolean gpu = false;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--master" -> master = value(args, ++i, a);
                    case "--out" -> out = value(args, ++i, a);
                    case "--base" -> base = value(args, ++i, a);
                    case "--backend" -> backend = value(args, ++i, a);
                    case "--gpu" -> gpu = true;
                    default -> {
                        if (a.startsWith("-") || jobs != null)
                            throw new IllegalArgumentException("unknown argument '" + a + "'; usage: SparkBatch JOBS [--master MASTER] [--out DIR] "
                                    + "[--base CONFIG.yaml] [--gpu] [--backend cuda|cpu]");
                        jobs = a;
                    }
                }
            }
            if (jobs == null) throw new IllegalArgumentException("missing JOBS (the jobs file, .yaml or .csv)");
            return new Args(master, new Settings(jobs, base, out, gpu, backend));
        }

        private static String value(String[] args, int i, String option) {
            if (i >= args.length) throw new IllegalArgumentException(option + " needs a value");
            return args[i];
        }
    }
}
