package dev.tav4j.model.tune;

import dev.tav4j.model.io.SafeTensorsWriter;
import dev.tav4j.model.nn.Linear;
import dev.tav4j.model.nn.Param;
import dev.tav4j.model.nn.ParamLayout;
import dev.tav4j.model.nn.ParamStore;
import dev.tav4j.model.pipeline.Gaussian;
import dev.tav4j.runtime.Tensor;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * LoRA tuning ({@code --lora-rank R}, YAML {@code lora_rank}): rank-R adapters on the Linear layers of the official
 * {@code trainable_modules} train instead of the layers' weights. Each adapted layer computes x·W + b + (x·A)·B with
 * W and b frozen, A [in → R] initialised as PEFT does (kaiming-uniform with a = √5: uniform ±1/√in), seeded by the
 * run's seed and the module's name, and B [R → out] zeros, so the tuning starts from the base model exactly. alpha is
 * R (a scale of 1), so the result is the update B·A itself: saved as a LoRA file in PEFT/diffusers naming
 * ({@code unet.<module>.lora_A.weight} [R, in], {@code unet.<module>.lora_B.weight} [out, R]) that {@code --lora}
 * merges back ({@link dev.tav4j.model.io.Lora}). The adapters are parameters of the {@link ParamStore}
 * ({@code <module>.lora_A.weight}, {@code <module>.lora_B.weight}), so the tuner, AdamW, the fp32 masters of mixed
 * precision, CUDA graph capture and checkpoints treat them as any trainable parameter.
 */
public final class LoraTuning {
    /** The file a LoRA tuning run writes in its output folder (where a full run writes unet/). */
    public static final String FILE = "lora.safetensors";
    /** The prefix of UNet keys in a diffusers/PEFT LoRA file. */
    public static final String PREFIX = "unet.";
    private static final String A = ".lora_A.weight", B = ".lora_B.weight";

    private LoraTuning() {}

    /** Whether a parameter name is a LoRA adapter's (A or B). */
    public static boolean isAdapter(String param) {
        return param.endsWith(A) || param.endsWith(B);
    }

    /**
     * Gives every Linear layer that {@code suffixes} select (as trainable_modules selects parameters: a module or an
     * ancestor ending with a suffix) a rank-{@code rank} adapter. Refused in one line naming the module: a selected
     * parameter that is not a Linear layer's (a convolution, a norm), or a rank above a layer's min(in, out).
     * Returns the adapted modules in load order.
     */
    public static List<String> attach(ParamStore params, int rank, List<String> suffixes, long seed) {
        if (rank < 1) throw new IllegalArgumentException("lora_rank must be at least 1, got " + rank);
        if (suffixes.isEmpty()) throw new IllegalArgumentException("trainable_modules is empty: nothing to tune");
        Map<String, Linear> linears = params.linears();
        Set<String> modules = new LinkedHashSet<>();
        for (Param p : params.all().values()) {
            if (isAdapter(p.name()) || !TrainableModules.isTrainable(p.name(), suffixes)) continue;
            String module = p.name().substring(0, p.name().lastIndexOf('.'));
            Linear l = linears.get(module);
            if (l == null)
                throw new IllegalArgumentException("lora_rank " + rank + ": trainable module '" + module + "' is " + kind(params, module)
                        + "; LoRA tuning adapts Linear layers only (take it out of trainable_modules, or tune its weights without lora_rank)");
            if (l.adapter() != null) throw new IllegalStateException(module + " already has a LoRA adapter");
            if (rank > Math.min(l.in(), l.out()))
                throw new IllegalArgumentException("lora_rank " + rank + " is larger than trainable module '" + module + "' allows: it maps "
                        + l.in() + " to " + l.out() + " features, so its rank is at most " + Math.min(l.in(), l.out()));
            modules.add(module);
        }
        if (modules.isEmpty()) throw new IllegalArgumentException("trainable_modules " + suffixes + " match no module of the UNet");
        for (String module : modules) {
            Linear l = linears.get(module);
            boolean conv = params.all().get(module + ".weight").torchShape().length == 4;  // a 1×1 conv used as a Linear
            Tensor a = conv ? Tensor.host(rank, l.in(), 1, 1) : Tensor.host(rank, l.in());
            Tensor b = conv ? Tensor.zeros(l.out(), rank, 1, 1) : Tensor.zeros(l.out(), rank);
            // torch.nn.init.kaiming_uniform_(a=√5) over fan_in = in: bound = √(2 / (1 + 5)) · √(3 / in) = 1 / √in
            Gaussian rng = new Gaussian(seed ^ (0x9E3779B97F4A7C15L * (module.hashCode() + 1L)));
            double bound = 1.0 / Math.sqrt(l.in());
            for (long i = 0; i < a.size(); i++) a.set(i, (float) rng.uniform(-bound, bound));
            params.addLoraAdapter(module, a, b);
        }
        return List.copyOf(modules);
    }

    private static String kind(ParamStore params, String module) {
        Param w = params.all().get(module + ".weight");
        if (w != null && w.layout() == ParamLayout.CONV_HWIO) return "a convolution";
        if (module.contains("norm")) return "a normalization layer";
        return "not a Linear layer";
    }

    /**
     * The adapter parameters (A and B) of the modules {@code suffixes} select, in load order: what a LoRA run trains.
     * Refused when there are none (adapters not attached) or they are not of rank {@code rank}.
     */
    public static Map<String, Param> select(Map<String, Param> params, List<String> suffixes, int rank) {
        Map<String, Param> out = new LinkedHashMap<>();
        for (Param p : params.values()) {
            if (!isAdapter(p.name()) || !TrainableModules.isTrainable(p.name(), suffixes)) continue;
            int r = p.name().endsWith(A) ? p.torchShape()[0] : p.torchShape()[1];
            if (r != rank) throw new IllegalArgumentException(p.name() + " has rank " + r + ", the run's lora_rank is " + rank);
            out.put(p.name(), p);
        }
        if (out.isEmpty())
            throw new IllegalArgumentException("lora_rank " + rank + ": the UNet has no LoRA adapters on trainable_modules " + suffixes
                    + " (LoraTuning.attach gives them)");
        return out;
    }

    /**
     * Writes the tuned adapters (their fp32 masters) as a PEFT/diffusers LoRA file, {@code unet.<module>.lora_A.weight}
     * [r, in] and {@code unet.<module>.lora_B.weight} [out, r] (a 1×1 convolution's with trailing 1, 1), no alpha
     * (alpha = rank); atomically. Returns {@code file}.
     */
    public static Path save(Path file, Tuner tuner) {
        int rank = tuner.settings().loraRank();
        if (rank < 1) throw new IllegalStateException("not a LoRA tuning run (lora_rank " + rank + ")");
        Map<String, Tensor> out = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Tensor> e : tuner.trainedParametersTorchLayout().entrySet()) out.put(PREFIX + e.getKey(), e.getValue());
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt");
            meta.put("lora_rank", Integer.toString(rank));
            meta.put("lora_alpha", Integer.toString(rank));
            meta.put("trainable_modules", String.join(",", tuner.settings().trainableModules()));
            meta.put("written_by", "tav4j LoRA tuning (tav tune --lora-rank); merge with --lora FILE");
            SafeTensorsWriter.write(file, out, meta);
            return file;
        } finally {
            out.values().forEach(Tensor::close);
        }
    }
}
