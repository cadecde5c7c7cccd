package dev.tav4j.model.golden;

import dev.tav4j.model.io.CheckpointDir;
import dev.tav4j.model.io.Lora;
import dev.tav4j.model.io.LoraFile;
import dev.tav4j.model.io.Weights;
import dev.tav4j.runtime.Tensor;
import org.junit.jupiter.api.Assertions;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The {@code lora_merge} golden case: the case's LoRA file at its scale merged into its model's weights must give
 * the reference's merged weights (under {@code unet.}/{@code text_encoder.} names), and leave every other weight
 * bit-identical to the unmerged model.
 * <p>
 * Tolerance: {@link Lora} sums the update in double and rounds W + update to float32 once. The reference's numbers
 * are not that rounding bit for bit (about a third of the entries differ, by at most 1 ulp of the weight's largest
 * entry, as when one intermediate is rounded to float32), and where W and the update cancel, 1 ulp at the weight's
 * scale is many ulps of the small result. So an entry may differ by 2 ulps of its own magnitude plus 2 ulps of the
 * weight's largest entry: twice what was measured, and still about 1e-7 relative to the weight, far below what a
 * wrong alpha, scale, rank or transposition gives (those change the update itself, ~1e-2 relative).
 */
final class LoraMergeParity {
    static final int ULPS = 2;

    private LoraMergeParity() {}

    static void run(GoldenCase c) {
        CheckpointDir ckpt = CheckpointDir.open(c.path("model"));
        float scale = (float) c.json().path("scale").asDouble(Double.NaN);
        Lora lora = Lora.read(List.of(new LoraFile(c.path("lora"), scale)));
        List<String> outputs = c.list("outputs");
        List<String> failures = new ArrayList<>();
        for (String component : List.of("unet", "text_encoder")) {
            String prefix = component + ".";
            Set<String> listed = new HashSet<>();
            for (String o : outputs) if (o.startsWith(prefix)) listed.add(o.substring(prefix.length()));
            try (Weights plain = ckpt.weights(component); Weights base = ckpt.weights(component)) {
                Weights merged = lora.apply(base);
                for (String name : listed) {
                    try (Tensor got = merged.load(name); Tensor want = c.tensor(prefix + name); Tensor before = plain.load(name)) {
                        String line = compare(c.label(prefix + name), got, want, before);
                        System.out.println(line);
                        if (line.endsWith("FAIL")) failures.add(line);
                    }
                }
                // every other weight: a sample spread over the component, bit for bit
                List<String> others = plain.names().stream().filter(n -> !listed.contains(n)).toList();
                int step = Math.max(1, others.size() / 40), checked = 0;
                for (int i = 0; i < others.size(); i += step, checked++) {
                    String n = others.get(i);
                    try (Tensor a = merged.load(n); Tensor b = plain.load(n)) {
                        if (!java.util.Arrays.equals(a.toArray(), b.toArray())) failures.add(c.label(prefix + n) + " changed by the merge but not listed  FAIL");
                    }
                }
                System.out.println(c.name() + " " + component + ": " + checked + " other weights bit-identical to the unmerged model");
            }
        }
        Assertions.assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    private static String compare(String label, Tensor got, Tensor want, Tensor before) {
        if (!java.util.Arrays.equals(got.shape(), want.shape())) return label + " shape " + java.util.Arrays.toString(got.shape())
                + " vs " + java.util.Arrays.toString(want.shape()) + "  FAIL";
        float[] g = got.toArray(), w = want.toArray(), b = before.toArray();
        float maxAbs = 0;
        for (float v : w) maxAbs = Math.max(maxAbs, Math.abs(v));
        double worst = 0;
        int exact = 0;
        boolean changed = false;
        for (int i = 0; i < g.length; i++) {
            if (g[i] == w[i]) exact++;
            if (w[i] != b[i]) changed = true;
            double tol = ULPS * (Math.ulp(Math.max(Math.abs(g[i]), Math.abs(w[i]))) + Math.ulp(maxAbs));
            worst = Math.max(worst, Math.abs(g[i] - w[i]) / tol);
        }
        boolean ok = worst <= 1 && changed;
        return String.format(Locale.ROOT, "%s  %d/%d exact, worst %.2f of the tolerance (%d ulps)%s  %s", label, exact, g.length,
                worst, ULPS, changed ? "" : ", but the reference equals the unmerged weight", ok ? "ok" : "FAIL");
    }
}
