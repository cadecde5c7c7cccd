package dev.tav4j.model.tune;

import dev.tav4j.model.nn.Param;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The official selection of trainable parameters: every parameter of every module whose name ends with one of the
 * given suffixes (default {@code attn1.to_q}, {@code attn2.to_q}, {@code attn_temp}) — string suffixes on module
 * names, exactly as {@code name.endswith(tuple(trainable_modules))} in train_tuneavideo.py. Any parameter may train:
 * the tape differentiates whatever is selected.
 */
public final class TrainableModules {
    public static final List<String> DEFAULT = List.of("attn1.to_q", "attn2.to_q", "attn_temp");

    private TrainableModules() {}

    /** The trainable parameters among {@code params}, in load order. */
    public static Map<String, Param> select(Map<String, Param> params, List<String> suffixes) {
        if (suffixes.isEmpty()) throw new IllegalArgumentException("trainable_modules is empty: nothing to tune");
        Map<String, Param> out = new LinkedHashMap<>();
        for (Param p : params.values()) {
            if (LoraTuning.isAdapter(p.name()) || !isTrainable(p.name(), suffixes)) continue;  // adapters train only in a LoRA run
            out.put(p.name(), p);
        }
        if (out.isEmpty()) throw new IllegalArgumentException("trainable_modules " + suffixes + " match no module of the UNet");
        return out;
    }

    /** Whether a parameter name is trainable under {@code suffixes}, as a predicate (e.g. for {@code ParamStore}'s exact fp32 copies). */
    public static java.util.function.Predicate<String> matcher(List<String> suffixes) {
        List<String> copy = List.copyOf(suffixes);
        return name -> isTrainable(name, copy);
    }

    /** Whether some ancestor module of the parameter (its name cut at a '.') ends with one of the suffixes. */
    public static boolean isTrainable(String param, List<String> suffixes) {
        for (int dot = param.lastIndexOf('.'); dot > 0; dot = param.lastIndexOf('.', dot - 1)) {
            String module = param.substring(0, dot);
            for (String s : suffixes) if (module.endsWith(s)) return true;
        }
        return false;
    }
}
