package dev.tav4j.cli;

import picocli.CommandLine.Command;
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
    @Option(names = "--spark", paramLabel = "MASTER", description = "Run on Apache Spark: not in this jar; use the tav4j-spark module's entry point (docs/scale.md).")
    String spark;
    @Mixin DeviceOption device;

    @Override public Integer call() {
        if (spark != null)
            throw new IllegalArgumentException("--spark " + spark + ": Spark is not part of tav.jar; run spark-submit --class dev.tav4j.spark.SparkBatch "
                    + "--master " + spark + " tav4j-spark.jar " + jobs + " (docs/scale.md)");
        BatchJobs b = BatchJobs.read(jobs, base, out);
        BatchRunner.check(b);  // every job's config, before any compute
        System.err.println("batch: " + b.jobs().size() + " jobs from " + b.file() + " into " + b.outRoot() + ", one worker on " + device.device);
        List<BatchRunner.JobResult> r = BatchRunner.runAll(b, List.of(device.device), System.err, device.env());
        System.out.print(BatchRunner.summary(r));
        if (r.stream().anyMatch(x -> BatchRunner.INTERRUPTED.equals(x.status()))) return TuneLauncher.CANCELLED;
        return r.stream().allMatch(BatchRunner.JobResult::ok) ? 0 : 1;
    }
}
