package dev.tav4j.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code tav batch JOBS}: many videos, each tuned and edited as {@code tav run} does one, into OUT_ROOT/ID. A rerun
 * skips the jobs that finished and resumes the interrupted ones; the jobs file is checked whole before any compute.
 * On a Spark cluster the same jobs run through dev.tav4j.spark.SparkBatch (module tav4j-spark, docs/scale.md).
 */
@Command(name = "batch", description = "Tune and edit many videos from a jobs file (YAML or CSV), one folder and result.json per job (docs/scale.md).")
final class BatchCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "JOBS", description = "The jobs file: .yaml (defaults, output_dir, jobs) or .csv (a header row, a row per job).")
    Path jobs;
    @Option(names = "--base", paramLabel = "CONFIG.yaml", description = "An official training config every job starts from (its settings, then the file's defaults, then the job's).")
    Path base;
    @Option(names = "--out", paramLabel = "DIR", description = "Where each job's folder goes (default: the jobs file's output_dir, else JOBS-out beside it).")
    Path out;
    @Option(names = "--spark", paramLabel = "MASTER", description = "Run the jobs as Spark tasks (e.g. local[4], spark://host:7077); needs "
            + "the tav4j-spark module and Spark on the class path, else use spark-submit (docs/scale.md). With --device cuda: one GPU per task.")
    String spark;
    @Option(names = "--gpus", paramLabel = "LIST", split = ",", description = "One worker per GPU (e.g. 0,1,2,3): each job in a JVM of its own "
            + "that sees only its worker's GPU (CUDA_VISIBLE_DEVICES), its output in OUT_ROOT/ID/batch.log. Default: one worker in this process.")
    List<String> gpus;
    @Option(names = "--only", hidden = true, description = "Run only this job, in this process (a --gpus worker's child).") String only;
    @Option(names = "--label", hidden = true, description = "The device as result.json names it (a --gpus worker's child).") String label;
    @Mixin DeviceOption device;
    @Spec CommandSpec spec;

    /**
     * --spark: SparkBatch's command line, found by name, as the CLI does not depend on Spark (the tav4j-spark module
     * and Spark's jars must be on the class path, as in the spark module's tests or with spark-submit).
     */
    private int spark() {
        if (gpus != null) throw new IllegalArgumentException("--gpus with --spark: Spark assigns the GPUs; use --device cuda for one GPU per task");
        java.lang.reflect.Method run;
        try {
            run = Class.forName("dev.tav4j.spark.SparkBatch").getMethod("run", String[].class);
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalArgumentException("--spark " + spark + ": the tav4j-spark module (and Spark) is not on the class path of tav.jar; "
                    + "run spark-submit --class dev.tav4j.spark.SparkBatch --master " + spark + " --jars tav.jar tav4j-spark.jar " + jobs
                    + " (docs/scale.md)");
        }
        List<String> args = new java.util.ArrayList<>(List.of(jobs.toString(), "--master", spark));
        if (out != null) args.addAll(List.of("--out", out.toString()));
        if (base != null) args.addAll(List.of("--base", base.toString()));
        if (!device.device.equals("cpu")) args.addAll(List.of("--gpu", "--backend", device.device));
        try {
            return (Integer) run.invoke(null, (Object) args.toArray(String[]::new));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("--spark: " + Errors.describe(e), e);
        }
    }

    @Override public Integer call() {
        if (spark != null) return spark();
        // the jobs' precision is their config's mixed_precision (as tav run's without the flag): one place to set it
        if (spec.commandLine().getParseResult().hasMatchedOption("--precision"))
            throw new IllegalArgumentException("--precision: tav batch takes each job's precision from its mixed_precision; set it under "
                    + "defaults (or a job's overrides) in " + jobs);
        BatchJobs b = BatchJobs.read(jobs, base, out);
        if (only != null) {  // a --gpus worker's child: one job, here
            BatchJobs.Job job = b.job(only);
            System.err.println("batch: job " + only + " on " + (label == null ? device.device : label) + " (CUDA_VISIBLE_DEVICES="
                    + System.getenv("CUDA_VISIBLE_DEVICES") + ")");
            BatchRunner.JobResult r = BatchRunner.runJob(b, job, device.device, label == null ? device.device : label, device.env());
            return r.ok() ? 0 : BatchRunner.INTERRUPTED.equals(r.status()) ? TuneLauncher.CANCELLED : 1;
        }
        BatchRunner.check(b);  // every job's config, before any compute
        // --gpus means the cuda backend unless --device says otherwise (the tests: --device cpu, GPUs only as labels)
        String gpuBackend = spec.commandLine().getParseResult().hasMatchedOption("--device") ? device.device : "cuda";
        List<BatchRunner.Worker> workers = gpus == null ? List.of(new BatchRunner.Worker(device.device, null))
                : gpus.stream().map(g -> new BatchRunner.Worker(gpuBackend, g.strip())).toList();
        for (BatchRunner.Worker w : workers)
            if (w.gpu() != null && !w.gpu().matches("\\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-zA-Z/-]+"))
                throw new IllegalArgumentException("--gpus: '" + w.gpu() + "' is not a GPU index or UUID (e.g. --gpus 0,1)");
        System.err.println("batch: " + b.jobs().size() + " jobs from " + b.file() + " into " + b.outRoot() + ", " + workers.size()
                + " worker(s) on " + String.join(", ", workers.stream().map(BatchRunner.Worker::label).toList()));
        List<String> childArgs = new java.util.ArrayList<>(List.of("batch", b.file().toString(), "--out", b.outRoot().toString()));
        if (base != null) childArgs.addAll(List.of("--base", base.toAbsolutePath().toString()));
        List<BatchRunner.JobResult> r = BatchRunner.runAll(b, workers, childArgs, System.err, device.env());
        System.out.print(BatchRunner.summary(r));
        if (r.stream().anyMatch(x -> BatchRunner.INTERRUPTED.equals(x.status()))) return TuneLauncher.CANCELLED;
        return r.stream().allMatch(BatchRunner.JobResult::ok) ? 0 : 1;
    }
}
