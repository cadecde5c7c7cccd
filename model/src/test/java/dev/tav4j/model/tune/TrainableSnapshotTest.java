package dev.tav4j.model.tune;

import dev.tav4j.kernels.cuda.CudaOps;
import dev.tav4j.model.Emulation;
import dev.tav4j.model.config.SchedulerConfig;
import dev.tav4j.model.nn.Param;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.model.pipeline.RandomWeights;
import dev.tav4j.model.sched.NoiseSchedule;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A loaded model serves a second job (tav batch, a Spark executor): after two tuning steps, {@link TrainableSnapshot}
 * puts every parameter and fp32 master back to its loaded value, bit for bit, and a second tuner then takes the same
 * steps as the first (the same losses).
 */
class TrainableSnapshotTest {
    private static final int FRAMES = 3, LATENT = 4;

    @Test
    void cpuParametersComeBackExactlyAndTheNextJobRepeatsTheFirst() {
        check(Backends.select("cpu"));
    }

    @Test
    void bf16WorkingCopiesAndFp32MastersComeBackExactly() {
        Emulation.require();
        try (CudaOps emu = Emulation.cuda()) {
            check(emu.withPrecision(DType.BF16));
        }
    }

    private static void check(Ops ops) {
        try (UNet3D unet = new UNet3D(ops, EmulatedCudaTuneStepTest.smallUnet(), new RandomWeights("unet", 3),
                TrainableModules.matcher(TrainableModules.DEFAULT));
             TrainableSnapshot snapshot = TrainableSnapshot.of(unet.params(), TrainableModules.DEFAULT)) {
            Map<String, float[]> loaded = everything(ops, unet);
            int trainable = TrainableModules.select(unet.params().all(), TrainableModules.DEFAULT).size();
            assertTrue(trainable > 0);
            assertEquals(ops.precision() == DType.F32 ? trainable : 2 * trainable, snapshot.size(), "each parameter, and its master in bf16");

            float[] first = twoSteps(ops, unet);
            Map<String, float[]> tuned = everything(ops, unet);
            long changed = loaded.keySet().stream().filter(k -> !java.util.Arrays.equals(loaded.get(k), tuned.get(k))).count();
            assertTrue(changed >= trainable, "tuning changed the trainable parameters (and masters): " + changed);

            snapshot.restore();
            Map<String, float[]> restored = everything(ops, unet);
            for (String k : loaded.keySet()) assertArrayEquals(loaded.get(k), restored.get(k), k);
            // the same arithmetic from the same values; the CPU's EXP may round its last bit differently between JIT tiers
            float[] second = twoSteps(ops, unet);
            for (int k = 0; k < 2; k++) assertEquals(first[k], second[k], 1e-5f * Math.abs(first[k]), "the second job's loss of step " + (k + 1));
        }
    }

    /** Two tuning steps of a fresh tuner (a job); their losses. */
    private static float[] twoSteps(Ops ops, UNet3D unet) {
        Gaussian g = new Gaussian(5);
        float[] losses = new float[2];
        try (Tuner tuner = new Tuner(unet, new NoiseSchedule(SchedulerConfig.defaults()), TuneSettings.defaults());
             Tensor lat = g.tensor(FRAMES, LATENT, LATENT, 4); Tensor txt = g.tensor(1, 77, 16);
             Tensor n0 = g.tensor(FRAMES, LATENT, LATENT, 4); Tensor n1 = g.tensor(FRAMES, LATENT, LATENT, 4);
             Tensor x = ops.upload(lat); Tensor text = ops.upload(txt); Tensor e0 = ops.upload(n0); Tensor e1 = ops.upload(n1)) {
            losses[0] = tuner.step(x, e0, FRAMES, new int[]{817}, text).loss();
            losses[1] = tuner.step(x, e1, FRAMES, new int[]{94}, text).loss();
        }
        return losses;
    }

    /** Every parameter (as fp32) and every fp32 master, on the host. */
    private static Map<String, float[]> everything(Ops ops, UNet3D unet) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Param p : unet.params().all().values()) {
            out.put(p.name(), host(ops, p.value()));
            Tensor exact = unet.params().exactF32(p.name());
            if (exact != null) out.put(p.name() + " (fp32 master)", host(ops, exact));
        }
        return out;
    }

    private static float[] host(Ops ops, Tensor t) {
        try (Tensor h = ops.download(t)) {
            return h.toArray();
        }
    }
}
