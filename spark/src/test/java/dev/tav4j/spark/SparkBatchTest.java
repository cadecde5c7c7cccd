package dev.tav4j.spark;

import dev.tav4j.cli.BatchHooks;
import dev.tav4j.cli.BatchJobs;
import dev.tav4j.cli.BatchRunner;
import dev.tav4j.cli.BatchRunner.JobResult;
import dev.tav4j.model.golden.GoldenData;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** tav batch on Spark local[2] (two tasks at once, in this JVM) against tav batch's local runner, same jobs. */
class SparkBatchTest {
    /** The jobs of the cli's BatchCommandTest: two videos and one whose video does not exist. */
    static String jobsYaml() {
        return BatchHooks.jobsYaml(GoldenData.model("tiny-sd-a"), GoldenData.video("man-skiing.mp4"), GoldenData.video("car-turn.mp4"));
    }

    static SparkConf conf(String master) {
        return new SparkConf().setMaster(master).setAppName("tav batch test").set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1");
    }

    /**
     * Spark first: both videos run at once and are interrupted after 3 of 4 steps, the missing video fails; the
     * rerun resumes them from checkpoint-2. Then the local runner, uninterrupted, into another folder: the same
     * statuses, reasons, files, steps, and the losses of steps 3 and 4 (the CPU backend's last bits may differ between
     * JIT tiers, so losses within 1e-4 relative).
     */
    @Test
    void sparkInterruptedAndResumedGivesWhatTheLocalBatchGives(@TempDir Path dir) throws IOException {
        Path jobs = dir.resolve("jobs.yaml");
        Files.writeString(jobs, jobsYaml());
        SparkBatch.Settings settings = new SparkBatch.Settings(jobs.toString(), null, dir.resolve("spark").toString(), false, null);
        List<JobResult> first, second = new java.util.ArrayList<>();
        try (JavaSparkContext sc = new JavaSparkContext(conf("local[2]"))) {
            BatchHooks.cancelAfterTuneSteps(3);
            try {
                first = SparkBatch.run(sc, settings, System.err);
            } finally {
                BatchHooks.cancelAfterTuneSteps(-1);
            }
        }
        // the rerun through the tav command line: tav batch JOBS --spark MASTER (SparkBatch found on the class path)
        assertEquals(1, dev.tav4j.cli.Main.run("batch", jobs.toString(), "--out", settings.out(), "--spark", "local[2]"), "one job failed");
        for (String id : List.of("skiing", "car", "missing")) second.add(BatchRunner.readResult(dir.resolve("spark").resolve(id)));
        assertEquals(List.of("interrupted", "interrupted", "failed"), first.stream().map(JobResult::status).toList(), first.toString());
        assertEquals(List.of("ok", "ok", "failed"), second.stream().map(JobResult::status).toList(), second.toString());
        assertEquals(2, second.get(0).resumedFromStep(), second.get(0).toString());
        assertEquals(2, second.get(1).resumedFromStep());

        List<JobResult> local = BatchRunner.runAll(BatchJobs.read(jobs, null, dir.resolve("local")), List.of("cpu"), System.err);
        assertEquals(List.of("ok", "ok", "failed"), local.stream().map(JobResult::status).toList(), local.toString());
        for (int i = 0; i < 3; i++) {
            JobResult s = second.get(i), l = local.get(i);
            assertEquals(l.id(), s.id());
            assertEquals(l.reason(), s.reason(), "the same failure, in the same words");
            assertEquals(l.steps(), s.steps());
            assertEquals(l.edited(), s.edited());
            assertEquals(files(dir.resolve("local").resolve(l.id())), files(dir.resolve("spark").resolve(s.id())), l.id());
            if (!l.ok()) continue;
            assertEquals(4, l.losses().size());
            for (int k = 0; k < 2; k++)
                assertEquals(l.losses().get(2 + k), s.losses().get(k), 1e-4 * Math.abs(l.losses().get(2 + k)), l.id() + " loss of step " + (3 + k));
            assertEquals(l.lastLoss(), s.lastLoss(), 1e-4 * Math.abs(l.lastLoss()));
            assertNull(s.skipped());
        }
    }

    /**
     * Spark's local-cluster mode: two worker processes of one core and 1 GB each, each with a "GPU" that a discovery
     * script makes up; every task asks for one GPU (the task resource profile), gets its address from its
     * TaskContext and, as there is no GPU here, computes on the cpu backend. Five jobs (the two videos twice, and the
     * missing one): the first run is interrupted after 3 of 4 steps on both executors, the second resumes every job
     * from checkpoint-2; then the same results as the local batch. Each executor loads the base model once, across
     * both runs: every other job reuses it, restored.
     */
    @Test
    void localClusterWithFakeGpusGivesWhatTheLocalBatchGives(@TempDir Path dir) throws Exception {
        Path home = Path.of(System.getenv("SPARK_HOME"));
        Files.createDirectories(home.resolve("jars"));
        Files.writeString(home.resolve("RELEASE"), "Spark 4.2.0 (the tests' stand-in for a distribution: jars come from the class path)\n");
        Path script = dir.resolve("gpus.sh");
        Files.writeString(script, "#!/bin/sh\necho '{\"name\": \"gpu\", \"addresses\": [\"0\"]}'\n");
        script.toFile().setExecutable(true);
        Path jobs = dir.resolve("jobs.yaml");
        String yaml = jobsYaml(), skiing = yaml.substring(yaml.indexOf("  - id: skiing"), yaml.indexOf("  - id: car")),
                car = yaml.substring(yaml.indexOf("  - id: car"), yaml.indexOf("  - id: missing"));
        Files.writeString(jobs, yaml + skiing.replace("id: skiing", "id: skiing-again") + car.replace("id: car", "id: car-again"));
        SparkConf conf = conf("local-cluster[2,1,1024]")
                .set("spark.executor.memory", "1g")
                .set("spark.executor.extraClassPath", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")))
                .set("spark.executor.extraJavaOptions", System.getProperty("tav.jvm.flags", ""))
                .set("spark.worker.resource.gpu.amount", "1").set("spark.worker.resource.gpu.discoveryScript", script.toString())
                .set("spark.executor.resource.gpu.amount", "1").set("spark.executor.resource.gpu.discoveryScript", script.toString())
                .set("spark.task.resource.gpu.amount", "1");
        SparkBatch.Settings settings = new SparkBatch.Settings(jobs.toString(), null, dir.resolve("spark").toString(), true, "cpu");
        List<JobResult> first, spark;
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            onEveryExecutor(sc, 3);  // as a Ctrl-C would, in the executors' JVMs
            first = SparkBatch.run(sc, settings, System.err);
            onEveryExecutor(sc, -1);
            spark = SparkBatch.run(sc, settings, System.err);
        }
        assertEquals(List.of("interrupted", "interrupted", "failed", "interrupted", "interrupted"), first.stream().map(JobResult::status).toList(),
                first.toString());
        assertEquals(List.of("ok", "ok", "failed", "ok", "ok"), spark.stream().map(JobResult::status).toList(), spark.toString());
        List<JobResult> both = Stream.concat(first.stream(), spark.stream()).toList();
        long loaded = both.stream().filter(r -> "loaded".equals(r.baseModel())).count();
        long reused = both.stream().filter(r -> "reused".equals(r.baseModel())).count();
        assertTrue(loaded >= 1 && loaded <= 2 && loaded + reused == 8, "once per executor (2 executors, 8 job runs reach the model): " + both);

        List<JobResult> local = BatchRunner.runAll(BatchJobs.read(jobs, null, dir.resolve("local")), List.of("cpu"), System.err);
        for (int i = 0; i < 5; i++) {
            JobResult s = spark.get(i), l = local.get(i);
            assertEquals("gpu 0 (cpu backend)", s.device(), "the task's GPU from its TaskContext: " + s);
            assertEquals(l.status(), s.status());
            assertEquals(l.reason(), s.reason());
            assertEquals(l.edited(), s.edited());
            assertEquals(files(dir.resolve("local").resolve(l.id())), files(dir.resolve("spark").resolve(s.id())), l.id());
            if (!l.ok()) continue;
            assertEquals(2, s.resumedFromStep(), s.toString());
            for (int k = 0; k < 2; k++)
                assertEquals(l.losses().get(2 + k), s.losses().get(k), 1e-4 * Math.abs(l.losses().get(2 + k)), l.id() + " loss of step " + (3 + k));
        }
    }

    /**
     * Sets the cli's cancel-after-steps hook in every executor's JVM (-1: off) with small tasks until both executors
     * have run one (they register with the driver one after the other).
     */
    private static void onEveryExecutor(JavaSparkContext sc, int steps) throws InterruptedException {
        java.util.Set<String> seen = new java.util.HashSet<>();
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (seen.size() < 2) {
            assertTrue(System.nanoTime() < deadline, "both executors within 2 minutes, saw " + seen);
            seen.addAll(sc.parallelize(java.util.stream.IntStream.range(0, 8).boxed().toList(), 8).map(i -> {
                BatchHooks.cancelAfterTuneSteps(steps);
                Thread.sleep(100);  // long enough that a free executor takes some of the eight
                return org.apache.spark.SparkEnv.get().executorId();
            }).collect());
            if (seen.size() < 2) Thread.sleep(500);
        }
    }

    /** Every file of a job's folder, relative to it. */
    static List<String> files(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).map(p -> root.relativize(p).toString()).sorted().toList();
        }
    }
}
