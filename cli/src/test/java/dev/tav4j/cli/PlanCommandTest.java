package dev.tav4j.cli;

import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.plan.MemoryPlan;
import dev.tav4j.model.plan.NotEnoughMemoryException;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code tav plan}: the table per stage and the verdict, on named shapes and on a checkpoint (configs only); exit
 * status 1 with the refusal line when it does not fit; bad options named. And a computing command refusing its
 * device plan before loading.
 */
class PlanCommandTest {
    @Test
    void plansTheAnchorBenchStagesWithoutLoadingAnything() {
        Tav.Run r = Tav.run("plan", "bench", "--model", "anchor", "--frames", "2", "--latent", "8");
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().startsWith("memory plan of tav bench on cpu: the CPU anchor UNet, 2 frames of 64x64 (latents 8x8)"), r.out());
        for (String s : new String[]{"load (weights)", "tuning step", "DDIM inversion", "guided DDIM (batch 2)", "+ JVM", "needed", "available"})
            assertTrue(r.out().contains(s), s + " missing: " + r.out());
        assertTrue(r.out().contains("\nfits: about "), r.out());
    }

    @Test
    void aPlanThatDoesNotFitExitsWithOneAndSaysWhatToChange() {
        Tav.Run r = Tav.run("plan", "tune", "--model", "sd15", "--frames", "24", "--device", "cuda", "--precision", "fp32", "--memory", "24g");
        assertEquals(1, r.code(), r.all());
        assertTrue(r.out().startsWith("memory plan of tav tune on cuda (fp32): SD 1.5 shapes, 24 frames of 512x512 (latents 64x64), gradient checkpointing on"), r.out());
        String verdict = r.out().lines().filter(l -> l.startsWith("does not fit")).findFirst().orElse("");
        assertTrue(verdict.startsWith("does not fit (--memory): not enough device memory for this run on cuda (fp32): about "), r.out());
        assertTrue(verdict.contains("24.0 GiB free") && verdict.contains("--precision bf16 (about "), verdict);
        Matcher m = Pattern.compile("fewer frames \\((\\d+) fit\\)").matcher(verdict);
        assertTrue(m.find(), verdict);
        Tav.Run fewer = Tav.run("plan", "tune", "--model", "sd15", "--frames", m.group(1), "--device", "cuda", "--precision", "fp32", "--memory", "24g");
        assertEquals(0, fewer.code(), "the frames said to fit fit: " + fewer.out());
    }

    @Test
    void plansACheckpointsEditFromItsConfigs() {
        Path model = Tav.tinyModel();
        Tav.Run r = Tav.run("plan", "edit", "--model", model.toString(), "--tuned", model.resolveSibling("tiny-tuned-a").toString(), "--video",
                "--frames", "4", "--height", "64", "--width", "96");
        assertEquals(0, r.code(), r.all());
        for (String s : new String[]{"VAE encode", "DDIM inversion", "guided DDIM (batch 2)", "VAE decode"})
            assertTrue(r.out().contains(s), s + " missing: " + r.out());
    }

    @Test
    void badOptionsAreNamed() {
        assertRefused(Tav.run("plan", "edit", "--model", "sd15", "--precision", "bf16"), "--precision bf16 needs --device cuda");
        assertRefused(Tav.run("plan", "tune", "--model", "anchor", "--memory", "12x"), "--memory must be a size");
        assertRefused(Tav.run("plan", "train", "--model", "anchor"), "COMMAND must be generate, edit, tune or bench");
        assertRefused(Tav.run("plan", "tune", "--model", "anchor", "--gradient-checkpointing", "maybe"), "--gradient-checkpointing must be on or off");
        assertRefused(Tav.run("plan", "tune", "--model", "/no/such/model"), "no such checkpoint");
        assertEquals(24L << 30, PlanCommand.parseSize("24g"));
        assertEquals(24L << 30, PlanCommand.parseSize("24GiB"));
        assertEquals(1500L << 20, PlanCommand.parseSize("1500m"));
    }

    /**
     * A computing command on a device checks its plan against what the device reports free, before loading: the
     * check of every command (MemoryCheck.before) on a stand-in cuda backend with 256 MiB free, then unknown.
     */
    @Test
    void aDevicePlanIsCheckedAgainstTheDevicesFreeMemory() {
        CheckpointDir ckpt = CheckpointDir.open(Tav.tinyModel());
        MemoryPlan.Models models = MemoryCheck.models(ckpt, null);
        NotEnoughMemoryException e = assertThrows(NotEnoughMemoryException.class,
                () -> MemoryCheck.before(device(256L << 20), models, MemoryPlan.Workload.generate(64, 512, 512)));
        String line = Errors.describe(e);
        assertTrue(line.startsWith("not enough device memory for this run on cuda (fp32): about "), line);
        assertTrue(line.contains("64 frames of 512x512") && line.contains("256 MiB free; ") && line.contains("--precision bf16 (about ")
                && line.contains("fewer frames (") && line.endsWith("or --device cpu (host memory)"), line);
        MemoryPlan unknown = MemoryCheck.before(device(-1), models, MemoryPlan.Workload.generate(64, 512, 512));
        assertTrue(unknown.line().endsWith("on cuda (fp32), free memory unknown"), unknown.line());
    }

    /** A plan that fails for another reason than memory is reported and the run goes on: the check never stops a run that would work. */
    @Test
    void aPlanThatCannotBeMadeLetsTheRunGoOn() {
        MemoryPlan.Models models = MemoryCheck.models(CheckpointDir.open(Tav.tinyModel()), null);
        Tav.Run r = captureErr(() -> assertEquals(null, MemoryCheck.before(device(-2), models, MemoryPlan.Workload.generate(2, 64, 64))));
        assertTrue(r.err().startsWith("memory: not planned (") && r.err().contains("the run goes on without the check"), r.err());
    }

    private static Tav.Run captureErr(Runnable body) {
        java.io.PrintStream old = System.err;
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            body.run();
        } finally {
            System.setErr(old);
        }
        return new Tav.Run(0, "", err.toString(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** A cuda backend as far as the memory check can tell: device tensors in fp32, steps captured, this much free (-2: it fails to say). */
    private static Ops device(long free) {
        return (Ops) Proxy.newProxyInstance(Ops.class.getClassLoader(), new Class<?>[]{Ops.class}, (proxy, m, args) -> switch (m.getName()) {
            case "computesOnHost", "capturesSteps" -> m.getName().equals("capturesSteps");
            case "precision" -> DType.F32;
            case "freeDeviceBytes" -> {
                if (free == -2) throw new IllegalStateException("the device cannot say");
                yield free;
            }
            case "name" -> "cuda";
            default -> throw new UnsupportedOperationException(m.getName() + ": the memory check needs no kernel");
        });
    }

    private static void assertRefused(Tav.Run r, String message) {
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains(message), message + " not in: " + r.err());
    }
}
