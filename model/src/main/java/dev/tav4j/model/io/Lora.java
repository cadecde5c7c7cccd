package dev.tav4j.model.io;

import dev.tav4j.model.config.ConfigException;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LoRA files read for merging into a model's weights at load: W += scale · (alpha / rank) · up · down, a conv's
 * kernel flattened ([out, r, 1, 1] · [r, in, kh, kw] → [out, in·kh·kw]); no alpha means alpha = rank. Read:
 * kohya/A1111 ({@code lora_unet_*} / {@code lora_te_*} module paths with '_' for '.', {@code .lora_down.weight},
 * {@code .lora_up.weight}, {@code .alpha}) and diffusers/PEFT ({@code unet.…} / {@code text_encoder.…} with
 * {@code .lora_A[.adapter].weight} / {@code .lora_B[.adapter].weight}, {@code .lora.down/.lora.up},
 * {@code .lora_layer.*}, {@code .lora_linear_layer.*}, or the attention processors' {@code processor.to_q_lora.down}).
 * Anything else in the file, a key that matches no weight, or a shape that does not fit is refused by name: a
 * LoRA is never partly applied.
 */
public final class Lora {
    /** No LoRA: {@link #apply} returns the weights as they are. */
    public static final Lora NONE = new Lora(List.of(), List.of());

    private enum Role { DOWN, UP, ALPHA }

    private record Key(String component, String module, boolean underscored, Role role) {}

    /** One module's low-rank update: {@code factor} = scale · alpha / rank; down [r, …], up [out, r, (1, 1)]. */
    record Update(LoraFile file, String key, String component, String module, boolean underscored,
                  int[] downShape, float[] down, int[] upShape, float[] up, double factor) {
        int rank() { return downShape[0]; }
    }

    private static final Pattern PEFT = Pattern.compile("(.+)\\.lora_([AB])(?:\\.[^.]+)?\\.weight");
    private static final Pattern PROCESSOR = Pattern.compile("(.+)\\.processor\\.(to_q|to_k|to_v|to_out)_lora\\.(down|up)\\.weight");
    private static final String[][] DOWN_UP = {{".lora.down.weight", ".lora.up.weight"},
            {".lora_layer.down.weight", ".lora_layer.up.weight"}, {".lora_linear_layer.down.weight", ".lora_linear_layer.up.weight"}};
    static final String FORMATS = "kohya lora_unet_*/lora_te_* with .lora_down.weight/.lora_up.weight/.alpha, or diffusers/PEFT "
            + "unet.*/text_encoder.* with .lora_A.weight/.lora_B.weight or .lora.down.weight/.lora.up.weight";

    private final List<LoraFile> files;
    private final List<Update> updates;

    private Lora(List<LoraFile> files, List<Update> updates) {
        this.files = files;
        this.updates = updates;
    }

    public List<LoraFile> files() { return files; }

    public boolean isEmpty() { return updates.isEmpty(); }

    /** Reads the files (each whole, as F32 on the heap: LoRAs are small); an unreadable key is refused here. */
    public static Lora read(List<LoraFile> files) {
        if (files == null || files.isEmpty()) return NONE;
        List<Update> all = new ArrayList<>();
        for (LoraFile f : files) all.addAll(readOne(f));
        return new Lora(List.copyOf(files), List.copyOf(all));
    }

    private static List<Update> readOne(LoraFile f) {
        if (!Files.isRegularFile(f.path())) throw new ConfigException(f.path() + ": LoRA file not found");
        try (SafeTensors st = SafeTensors.open(f.path())) {
            record Parts(String component, String module, boolean underscored, String[] names) {}
            Map<String, Parts> groups = new LinkedHashMap<>();
            for (String name : st.names()) {
                Key k = parse(name);
                if (k == null)
                    throw new LoraException(f.path() + ": key '" + name + "' is not a LoRA weight tav reads (" + FORMATS
                            + "; LyCORIS LoHa/LoKr and DoRA are not supported)");
                Parts g = groups.computeIfAbsent(k.component + "|" + k.module,
                        x -> new Parts(k.component, k.module, k.underscored, new String[3]));
                g.names[k.role.ordinal()] = name;
            }
            List<Update> out = new ArrayList<>();
            for (Parts g : groups.values()) {
                String down = g.names[Role.DOWN.ordinal()], up = g.names[Role.UP.ordinal()], alpha = g.names[Role.ALPHA.ordinal()];
                String any = down != null ? down : up != null ? up : alpha;
                if (down == null || up == null)
                    throw new LoraException(f.path() + ": key '" + any + "' has no matching " + (down == null ? "down (lora_down / lora_A)" : "up (lora_up / lora_B)")
                            + " weight; a LoRA needs both");
                int[] ds = shape(st, down), us = shape(st, up);
                if (ds.length < 2 || us.length < 2 || us[1] != ds[0] || !onlyOnes(us, 2))
                    throw new LoraException(f.path() + ": key '" + down + "' " + Arrays.toString(ds) + " and '" + up + "' "
                            + Arrays.toString(us) + " are not a LoRA pair (down [rank, in, …], up [out, rank] or [out, rank, 1, 1])");
                int rank = ds[0];
                double a = rank;
                if (alpha != null) {
                    float[] av = load(st, alpha);
                    if (av.length != 1) throw new LoraException(f.path() + ": key '" + alpha + "' should be a single number, has " + av.length);
                    a = av[0];
                }
                out.add(new Update(f, down, g.component, g.module, g.underscored, ds, load(st, down), us, load(st, up),
                        (double) f.scale() * a / rank));
            }
            return out;
        }
    }

    private static int[] shape(SafeTensors st, String name) {
        long[] s = st.info(name).shape();
        int[] out = new int[s.length];
        for (int i = 0; i < s.length; i++) out[i] = Math.toIntExact(s[i]);
        return out;
    }

    private static float[] load(SafeTensors st, String name) {
        try (var t = st.loadF32(name)) {
            return t.toArray();
        }
    }

    /** The component, module and role a LoRA key names; null for anything else. */
    private static Key parse(String name) {
        for (String[] p : new String[][]{{"lora_unet_", "unet"}, {"lora_te_", "text_encoder"}}) {
            if (!name.startsWith(p[0])) continue;
            String rest = name.substring(p[0].length());
            int dot = rest.indexOf('.');
            if (dot <= 0) return null;
            Role role = switch (rest.substring(dot + 1)) {
                case "lora_down.weight" -> Role.DOWN;
                case "lora_up.weight" -> Role.UP;
                case "alpha" -> Role.ALPHA;
                default -> null;
            };
            return role == null ? null : new Key(p[1], rest.substring(0, dot), true, role);
        }
        String component, rest;
        if (name.startsWith("unet.")) { component = "unet"; rest = name.substring(5); }
        else if (name.startsWith("text_encoder.")) { component = "text_encoder"; rest = name.substring(13); }
        // older diffusers attention-processor files name UNet modules without a prefix
        else if (name.startsWith("down_blocks.") || name.startsWith("mid_block.") || name.startsWith("up_blocks.")) { component = "unet"; rest = name; }
        else return null;
        Matcher m = PROCESSOR.matcher(rest);
        if (m.matches())
            return new Key(component, m.group(1) + "." + (m.group(2).equals("to_out") ? "to_out.0" : m.group(2)), false,
                    m.group(3).equals("down") ? Role.DOWN : Role.UP);
        m = PEFT.matcher(rest);
        if (m.matches()) return new Key(component, m.group(1), false, m.group(2).equals("A") ? Role.DOWN : Role.UP);
        for (String[] du : DOWN_UP) {
            if (rest.endsWith(du[0])) return new Key(component, strip(rest, du[0]), false, Role.DOWN);
            if (rest.endsWith(du[1])) return new Key(component, strip(rest, du[1]), false, Role.UP);
        }
        if (rest.endsWith(".alpha")) return new Key(component, strip(rest, ".alpha"), false, Role.ALPHA);
        return null;
    }

    private static String strip(String s, String suffix) { return s.substring(0, s.length() - suffix.length()); }

    private static boolean onlyOnes(int[] s, int from) {
        for (int i = from; i < s.length; i++) if (s[i] != 1) return false;
        return true;
    }

    /** {@code w} with this LoRA's updates for its component merged in as it loads; every update is checked now. */
    public Weights apply(Weights w) {
        return apply(w, key -> false);
    }

    /**
     * As {@link #apply(Weights)}; an update whose key {@code mayBeAbsent} accepts and that matches no weight of
     * {@code w} is left out instead of refused (the temporal layers of a UNet inflated later, checked then).
     */
    public Weights apply(Weights w, Predicate<String> mayBeAbsent) {
        List<Update> mine = updates.stream().filter(u -> u.component().equals(w.component())).toList();
        if (mine.isEmpty()) return w;
        Map<String, List<String>> underscored = null;
        Map<String, List<Update>> byWeight = new LinkedHashMap<>();
        for (Update u : mine) {
            String target;
            if (u.underscored()) {
                if (underscored == null) underscored = underscoredNames(w);
                List<String> hits = underscored.get(u.module());
                if (hits != null && hits.size() > 1)
                    throw new LoraException(u.file().path() + ": key '" + u.key() + "' matches more than one weight of the "
                            + w.component() + ": " + hits);
                target = hits == null ? null : hits.getFirst();
                if (target == null && !mayBeAbsent.test(u.key()))
                    throw noMatch(u, w, u.module(), underscored.keySet());
            } else {
                target = u.module() + ".weight";
                if (!w.has(target)) {
                    if (mayBeAbsent.test(u.key())) target = null;
                    else throw noMatch(u, w, target, w.names());
                }
            }
            if (target == null) continue;
            int[] ws = w.shape(target);
            if (!fits(ws, u.downShape(), u.upShape()))
                throw new LoraException(u.file().path() + ": key '" + u.key() + "' does not fit weight '" + target + "' of the "
                        + w.component() + ": the LoRA's down " + Arrays.toString(u.downShape()) + " and up " + Arrays.toString(u.upShape())
                        + " make an update of [" + u.upShape()[0] + ", " + join(u.downShape()) + "], the weight is "
                        + Arrays.toString(ws) + " (a LoRA for another model?)");
            byWeight.computeIfAbsent(target, x -> new ArrayList<>()).add(u);
        }
        return byWeight.isEmpty() ? w : new LoraWeights(w, byWeight, files);
    }

    private static String join(int[] down) {
        StringBuilder b = new StringBuilder();
        for (int i = 1; i < down.length; i++) b.append(i > 1 ? ", " : "").append(down[i]);
        return b.toString();
    }

    private static LoraException noMatch(Update u, Weights w, String looked, java.util.Collection<String> names) {
        List<String> similar = WeightErrors.similar(looked, names, 3);
        return new LoraException(u.file().path() + ": key '" + u.key() + "' matches no weight of the " + w.component()
                + " (no '" + looked + "' in " + w.describe() + ")" + (similar.isEmpty() ? "" : "; similar: " + String.join(", ", similar))
                + "; a LoRA for another model?");
    }

    /** Each weight's module path written with '_' for '.', as kohya names it, to the weights it stands for. */
    private static Map<String, List<String>> underscoredNames(Weights w) {
        Map<String, List<String>> m = new HashMap<>();
        for (String n : w.names())
            if (n.endsWith(".weight")) m.computeIfAbsent(strip(n, ".weight").replace('.', '_'), x -> new ArrayList<>(1)).add(n);
        return m;
    }

    /**
     * Whether up · down has the weight's shape: up [out, r(, 1, 1)], down [r, in(, kh, kw)]; a Linear and a 1×1 conv
     * are taken for each other (SD 1.x's proj_in is a conv where SD 2.x's is a Linear).
     */
    static boolean fits(int[] weight, int[] down, int[] up) {
        if (weight.length < 2 || up[0] != weight[0]) return false;
        return Arrays.equals(trimOnes(Arrays.copyOfRange(weight, 1, weight.length)), trimOnes(Arrays.copyOfRange(down, 1, down.length)));
    }

    private static int[] trimOnes(int[] s) {
        int n = s.length;
        while (n > 1 && s[n - 1] == 1) n--;
        return Arrays.copyOf(s, n);
    }

    @Override public String toString() { return "Lora" + files; }

    /** A LoRA file that cannot be read or merged; the message names the file and the key. */
    public static final class LoraException extends ConfigException {
        public LoraException(String message) { super(message); }
    }
}
