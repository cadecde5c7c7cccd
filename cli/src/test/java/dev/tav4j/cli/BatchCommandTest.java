package dev.tav4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.config.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** tav batch on the golden tiny checkpoint: 2 frames of 64×64, 4 tuning steps, a 2-step edit per job. */
class BatchCommandTest {
    /** Three jobs: two videos and one whose video does not exist. */
    static String jobsYaml(Path model, Path skiing, Path car) {
        return """
                defaults:
                  pretrained_model_path: "%s"
                  max_train_steps: 4
                  checkpointing_steps: 2
                  learning_rate: 3e-5
                  mixed_precision: "no"
                  trainable_modules: ["attn1.to_q", "attn2.to_q", "attn_temp"]
                  validation_data:
                    num_inference_steps: 2
                    num_inv_steps: 2
                    guidance_scale: 7.5
                jobs:
                  - id: skiing
                    video: "%s"
                    prompt: "a man is skiing"
                    edit_prompts: ["a cat is skiing"]
                    n_sample_frames: 2
                    sample_frame_rate: 2
                    width: 64
                    height: 64
                  - id: car
                    video: "%s"
                    prompt: "a jeep car is moving on the road"
                    edit_prompts: ["a red car is moving on the road", "a toy car is moving on the road"]
                    n_sample_frames: 2
                    width: 64
                    height: 64
                    overrides:
                      seed: 7
                      validation_data.guidance_scale: 5
                  - id: missing
                    video: "no-such-video.mp4"
                    prompt: "a man is skiing"
                    edit_prompts: ["a cat is skiing"]
                    n_sample_frames: 2
                    width: 64
                    height: 64
                """.formatted(model, skiing, car);
    }

    /**
     * The first run is interrupted in its first job (as Ctrl-C would: the batch stops, the rest not run); the second
     * resumes that job from its checkpoint, runs the next and records the missing video as a failure; the third
     * keeps the finished jobs untouched and only tries the failed one again.
     */
    @Test
    void interruptedJobResumesFailedJobIsRecordedAndFinishedJobsAreSkipped(@TempDir Path dir) throws Exception {
        Path jobs = dir.resolve("jobs.yaml"), out = dir.resolve("out");
        Files.writeString(jobs, jobsYaml(Tav.tinyModel(), Tav.video("man-skiing.mp4"), Tav.video("car-turn.mp4")));

        BaseModels.PROCESS.clear();
        Tav.Run r;
        TuneLauncher.cancelAfterTuneSteps = 3;
        try {
            r = Tav.run("batch", jobs.toString(), "--out", out.toString());
        } finally {
            TuneLauncher.cancelAfterTuneSteps = -1;
        }
        assertEquals(TuneLauncher.CANCELLED, r.code(), r.all());
        JsonNode skiing = Json.read(out.resolve("skiing/result.json"));
        assertEquals("interrupted", skiing.path("status").asText(), skiing.toString());
        assertTrue(skiing.path("reason").asText().contains("checkpoint-2"), skiing.toString());
        assertEquals(3, skiing.path("losses").size(), "the loss of each step run: " + skiing);
        assertFalse(Files.exists(out.resolve("car")), "the batch stops at an interrupted job");
        assertTrue(r.out().contains("not run"), r.out());

        r = Tav.run("batch", jobs.toString(), "--out", out.toString());
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("resuming from") && r.err().contains("checkpoint-2"), r.err());
        skiing = Json.read(out.resolve("skiing/result.json"));
        assertEquals("ok", skiing.path("status").asText(), skiing.toString());
        assertEquals(2, skiing.path("resumedFromStep").asInt(), skiing.toString());
        assertEquals(2, skiing.path("losses").size(), "steps 3 and 4 only: " + skiing);
        assertEquals(4, skiing.path("steps").asInt());
        assertTrue(Files.isRegularFile(out.resolve("skiing/edited/a cat is skiing.gif")));
        assertTrue(Files.isRegularFile(out.resolve("skiing/unet/config.json")), "the official layout");
        assertTrue(Files.isRegularFile(out.resolve("skiing/config.yaml")));
        assertTrue(Files.isRegularFile(out.resolve("skiing/samples/sample-4.gif")));

        JsonNode car = Json.read(out.resolve("car/result.json"));
        assertEquals("ok", car.path("status").asText(), car.toString());
        assertEquals(4, car.path("losses").size());
        assertEquals(2, car.path("edited").size(), car.toString());
        // kept loaded since the interrupted run of skiing, in this process (the rerun's first job restored it too)
        assertEquals("reused", car.path("baseModel").asText(), car.toString());
        assertTrue(car.path("stages").has("restore base model"), car.toString());
        assertTrue(Files.readString(out.resolve("car/config.yaml")).contains("seed: 7"), "the job's override");

        JsonNode missing = Json.read(out.resolve("missing/result.json"));
        assertEquals("failed", missing.path("status").asText(), missing + r.all());
        assertTrue(missing.path("reason").asText().contains("no-such-video.mp4"), missing.toString());
        assertFalse(missing.path("reason").asText().contains("\n"));
        String table = r.out();
        assertTrue(table.contains("2 of 3 jobs ok"), table);
        assertTrue(table.lines().anyMatch(l -> l.startsWith("missing") && l.contains("failed")), table);
        assertNoPartialFiles(out);

        String finished = skiing.path("finished").asText();
        r = Tav.run("batch", jobs.toString(), "--out", out.toString());
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("skiing: already done, skipped") && r.err().contains("car: already done, skipped"), r.err());
        assertFalse(r.err().contains("resuming from"), r.err());
        assertEquals(finished, Json.read(out.resolve("skiing/result.json")).path("finished").asText(), "a finished job is not run again");
        assertTrue(r.out().contains("ok (kept)"), r.out());
    }

    /**
     * The base model is loaded once per process: the second job gets the first job's model with its trainable
     * parameters restored. The first job tunes at a learning rate 300× the second's, so a model not restored would
     * change the second job's losses far beyond the CPU's last-bit noise (1e-4 relative): they must equal those of
     * the same job run alone on a freshly loaded model.
     */
    @Test
    void theBaseModelIsLoadedOnceAndRestoredForTheNextJob(@TempDir Path dir) throws Exception {
        Path jobs = dir.resolve("jobs.yaml");
        String yaml = jobsYaml(Tav.tinyModel(), Tav.video("man-skiing.mp4"), Tav.video("car-turn.mp4"));
        yaml = yaml.substring(0, yaml.indexOf("  - id: missing"));
        Files.writeString(jobs, yaml.replace("    prompt: \"a man is skiing\"\n",
                "    prompt: \"a man is skiing\"\n    overrides:\n      learning_rate: 1e-2\n"));
        BaseModels.PROCESS.clear();
        Tav.Run r = Tav.run("batch", jobs.toString(), "--out", dir.resolve("both").toString());
        assertEquals(0, r.code(), r.all());
        JsonNode skiing = Json.read(dir.resolve("both/skiing/result.json")), car = Json.read(dir.resolve("both/car/result.json"));
        assertEquals("loaded", skiing.path("baseModel").asText(), skiing.toString());
        assertTrue(skiing.path("stages").has("load checkpoint"), skiing.toString());
        assertTrue(Files.readString(dir.resolve("both/skiing/config.yaml")).contains("learning_rate: 0.01"), "the override");
        assertEquals("reused", car.path("baseModel").asText(), car.toString());
        assertTrue(car.path("stages").has("restore base model") && !car.path("stages").has("load checkpoint"), car.toString());
        assertTrue(r.out().contains("base model: loaded for 1 of 2 jobs"), r.out());
        assertEquals(1, BaseModels.PROCESS.idleCount(), "kept for the next batch of this process");

        // car alone, on a model loaded for it
        Files.writeString(jobs, yaml.substring(0, yaml.indexOf("  - id: skiing")) + yaml.substring(yaml.indexOf("  - id: car")));
        BaseModels.PROCESS.clear();
        r = Tav.run("batch", jobs.toString(), "--out", dir.resolve("alone").toString());
        assertEquals(0, r.code(), r.all());
        JsonNode alone = Json.read(dir.resolve("alone/car/result.json"));
        assertEquals("loaded", alone.path("baseModel").asText(), alone.toString());
        assertEquals(4, alone.path("losses").size());
        for (int k = 0; k < 4; k++) {
            double a = alone.path("losses").get(k).asDouble(), b = car.path("losses").get(k).asDouble();
            assertEquals(a, b, 1e-4 * Math.abs(a), "car's loss of step " + (k + 1) + " after skiing's job, and alone");
        }
        BaseModels.PROCESS.clear();
    }

    /** A CSV row and a YAML job give the same config; list cells split at '|', other columns are overrides. */
    @Test
    void csvJobsAreTheSameAsYamlJobs(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("jobs.yaml"), csv = dir.resolve("jobs.csv"), base = dir.resolve("base.yaml");
        Files.writeString(base, "pretrained_model_path: models/sd\nmax_train_steps: 4\n");
        Files.writeString(yaml, """
                jobs:
                  - id: a
                    video: v/a.mp4
                    prompt: "a man, skiing"
                    edit_prompts: ["x", "y"]
                    n_sample_frames: 2
                    width: 64
                    height: 64
                    overrides:
                      learning_rate: 1e-4
                      validation_data.num_inference_steps: 3
                """);
        Files.writeString(csv, """
                id,video,prompt,edit_prompts,n_sample_frames,width,height,learning_rate,validation_data.num_inference_steps
                a,v/a.mp4,"a man, skiing",x|y,2,64,64,1e-4,3
                """);
        BatchJobs y = BatchJobs.read(yaml, base, dir.resolve("out")), c = BatchJobs.read(csv, base, dir.resolve("out"));
        TuneConfig ty = TuneConfig.of(y.jobs().getFirst().config(), "y", java.util.Map.of());
        TuneConfig tc = TuneConfig.of(c.jobs().getFirst().config(), "c", java.util.Map.of());
        assertEquals(ty.trainData(), tc.trainData());
        assertEquals(ty.validationData(), tc.validationData());
        assertEquals(List.of("x", "y"), tc.validationData().prompts());
        assertEquals(1e-4, tc.learningRate());
        assertEquals(3, tc.validationData().numInferenceSteps());
        assertEquals(dir.resolve("v/a.mp4"), tc.trainData().videoPath(), "relative to the jobs file");
        assertEquals(dir.resolve("models/sd"), tc.pretrainedModelPath());
        assertEquals(dir.resolve("out/a"), tc.outputDir());
        assertEquals(4, tc.validationSteps(), "a batch job validates at its last step");
    }

    /** A bad jobs file is one line naming the file, the job and the key, before any job folder exists. */
    @Test
    void badJobsFileIsOneLineBeforeAnyCompute(@TempDir Path dir) throws Exception {
        Path model = Tav.tinyModel(), out = dir.resolve("out"), jobs = dir.resolve("jobs.yaml");
        String good = jobsYaml(model, Tav.video("man-skiing.mp4"), Tav.video("car-turn.mp4"));
        Files.writeString(jobs, good.replace("seed: 7", "sed: 7"));
        Tav.Run r = Tav.run("batch", jobs.toString(), "--out", out.toString());
        assertEquals(1, r.code(), r.all());
        String line = r.err().lines().filter(l -> l.startsWith("tav:")).findFirst().orElse("");
        assertTrue(line.contains(jobs.toString()) && line.contains("job 'car'") && line.contains("sed"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        assertFalse(Files.exists(out), "nothing ran");

        // a dotted override with an empty part (found by BatchJobsFuzzTest: "." was an ArrayIndexOutOfBoundsException)
        Files.writeString(jobs, good.replace("validation_data.guidance_scale: 5", "validation_data.: 5"));
        r = Tav.run("batch", jobs.toString(), "--out", out.toString());
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("job 'car'") && r.err().contains("'validation_data.' is not a setting name"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        assertFalse(Files.exists(out), "nothing ran");

        Files.writeString(jobs, good.replace("learning_rate: 3e-5", "learning_rate: -1"));
        r = Tav.run("batch", jobs.toString(), "--out", out.toString());
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("job 'skiing'") && r.err().contains("learning_rate"), r.err());

        r = Tav.run("batch", jobs.toString(), "--out", out.toString(), "--spark", "local[2]");
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("tav4j-spark") && r.err().contains("spark-submit"), "no Spark in the cli's class path: " + r.err());

        r = Tav.run("batch", jobs.toString(), "--out", out.toString(), "--precision", "bf16");
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("--precision") && r.err().contains("mixed_precision"), r.err());

        Files.writeString(jobs, good.replace("    prompt: \"a jeep car is moving on the road\"\n", ""));
        r = Tav.run("batch", jobs.toString(), "--out", out.toString());
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("job 'car': prompt is missing"), r.err());
        assertFalse(Files.exists(out), "nothing ran");
    }

    /**
     * --gpus 0,1: two workers, each job in a JVM of its own that sees only its worker's GPU (here with the cpu
     * backend: the GPUs are labels); the first two jobs start at once, one on each.
     */
    @Test
    void gpuWorkersRunEachJobInAChildJvmThatSeesOnlyItsGpu(@TempDir Path dir) throws Exception {
        Path jobs = dir.resolve("jobs.yaml"), out = dir.resolve("out");
        Files.writeString(jobs, jobsYaml(Tav.tinyModel(), Tav.video("man-skiing.mp4"), Tav.video("car-turn.mp4")));
        Tav.Run r = Tav.run("batch", jobs.toString(), "--out", out.toString(), "--gpus", "0,1", "--device", "cpu");
        assertEquals(1, r.code(), r.all());
        JsonNode skiing = Json.read(out.resolve("skiing/result.json")), car = Json.read(out.resolve("car/result.json"));
        assertEquals("ok", skiing.path("status").asText(), skiing.toString());
        assertEquals("ok", car.path("status").asText(), car.toString());
        assertEquals(java.util.Set.of("gpu 0 (cpu backend)", "gpu 1 (cpu backend)"),
                java.util.Set.of(skiing.path("device").asText(), car.path("device").asText()), "one job on each GPU");
        String gpu = skiing.path("device").asText().substring(4, 5);
        assertTrue(Files.readString(out.resolve("skiing/batch.log")).contains("CUDA_VISIBLE_DEVICES=" + gpu), "the child sees its GPU only");
        assertEquals("failed", Json.read(out.resolve("missing/result.json")).path("status").asText());
        assertTrue(r.out().contains("2 of 3 jobs ok"), r.out());

        r = Tav.run("batch", jobs.toString(), "--out", out.toString(), "--gpus", "0,x");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--gpus: 'x'"), r.err());
    }

    /** eval_clip: each edited video scored against its prompt with tav eval's CLIP metrics, in result.json. */
    @Test
    void evalClipScoresEachEditedVideo(@TempDir Path dir) throws Exception {
        Path clip = Tav.tinyClip(), jobs = dir.resolve("jobs.yaml"), out = dir.resolve("out");
        String yaml = jobsYaml(Tav.tinyModel(), Tav.video("man-skiing.mp4"), Tav.video("car-turn.mp4"))
                .replace("max_train_steps: 4", "max_train_steps: 1").replace("checkpointing_steps: 2", "checkpointing_steps: 0");
        // only the car job (two edit prompts), with the CLIP model as a job key
        yaml = yaml.substring(0, yaml.indexOf("  - id: skiing")) + yaml.substring(yaml.indexOf("  - id: car"), yaml.indexOf("  - id: missing"))
                .replace("    overrides:", "    eval_clip: \"" + clip + "\"\n    overrides:");
        Files.writeString(jobs, yaml);
        Tav.Run r = Tav.run("batch", jobs.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.all());
        JsonNode eval = Json.read(out.resolve("car/result.json")).path("eval");
        assertEquals(2, eval.size(), eval.toString());
        JsonNode red = eval.path("edited/a red car is moving on the road.gif");
        assertEquals("a red car is moving on the road", red.path("prompt").asText(), eval.toString());
        assertEquals(2, red.path("frames").asInt());
        double fc = red.path("frameConsistency").asDouble(Double.NaN), ta = red.path("textAlignment").asDouble(Double.NaN);
        assertTrue(fc >= -1 && fc <= 1, "a cosine similarity: " + fc);
        assertTrue(Double.isFinite(ta), eval.toString());

        Files.writeString(jobs, yaml.replace(clip.toString(), dir.resolve("no-clip").toString()));
        r = Tav.run("batch", jobs.toString(), "--out", dir.resolve("out2").toString());
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("job 'car': eval_clip"), r.err());
        assertFalse(Files.exists(dir.resolve("out2")), "refused before any compute");
    }

    static void assertNoPartialFiles(Path root) throws Exception {
        try (Stream<Path> s = Files.walk(root)) {
            List<Path> part = s.filter(p -> p.getFileName().toString().endsWith(".part")).toList();
            assertTrue(part.isEmpty(), "no half-written files: " + part);
        }
    }
}
