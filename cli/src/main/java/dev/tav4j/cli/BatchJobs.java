package dev.tav4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A jobs file of {@code tav batch}: YAML or CSV, one job per video. Each job becomes an official Tune-A-Video config
 * ({@link Job#config()}): the file's defaults (and {@code --base CONFIG.yaml}), then the job's video, sampling and
 * prompts, then its overrides (the config's own keys, dotted for nested ones: {@code validation_data.num_inference_steps}).
 * Relative paths in the file (video, pretrained_model_path, pretrained_model_config, output_dir) are taken from the
 * jobs file's folder, so the same file works from any directory and on every Spark executor.
 *
 * @param file    the jobs file, absolute
 * @param outRoot where each job's folder goes (OUT_ROOT/ID)
 * @param jobs    in file order, ids unique
 */
public record BatchJobs(Path file, Path outRoot, List<Job> jobs) {
    /**
     * One job: its id (its folder's name), the official config it runs (output_dir already set) and the CLIP model
     * that scores its edited videos ({@code tav eval}'s metrics into result.json; null: none).
     */
    public record Job(String id, ObjectNode config, Path evalClip) {
        /** The edit prompts (validation_data.prompts). */
        public List<String> editPrompts() {
            List<String> p = new ArrayList<>();
            config.path("validation_data").path("prompts").forEach(n -> p.add(n.asText()));
            return p;
        }
    }

    /** The keys of a job itself; every other key of a CSV row is an override. */
    static final List<String> JOB_KEYS = List.of("id", "video", "prompt", "edit_prompts", "n_sample_frames", "sample_start_idx",
            "sample_frame_rate", "width", "height", "eval_clip", "overrides");
    private static final List<String> SAMPLING = List.of("n_sample_frames", "sample_start_idx", "sample_frame_rate", "width", "height");
    /** Keys whose value is a list; a CSV cell holds its items separated by '|'. */
    private static final Set<String> LISTS = Set.of("trainable_modules", "validation_data.prompts", "edit_prompts");
    /** Keys holding paths, taken from the jobs file's folder when relative. */
    private static final List<String> PATHS = List.of("pretrained_model_path", "pretrained_model_config", "train_data.video_path", "output_dir");
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** The job with id {@code id} (a Spark task finds its job this way). */
    public Job job(String id) {
        return jobs.stream().filter(j -> j.id().equals(id)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException(file + ": no job '" + id + "'"));
    }

    /**
     * Reads {@code file} (.csv: CSV with a header row, anything else YAML). {@code base}: an official config whose
     * settings every job starts from (null: none); {@code outRoot}: null for the file's {@code output_dir}, else
     * FILE's folder/NAME-out. Every problem is one line naming the file, the job and the key.
     */
    public static BatchJobs read(Path file, Path base, Path outRoot) {
        file = file.toAbsolutePath().normalize();
        Path dir = file.getParent();
        ObjectNode defaults = JsonNodeFactory.instance.objectNode();
        if (base != null) defaults.setAll(readYaml(base.toAbsolutePath(), "base config"));
        List<ObjectNode> rows = new ArrayList<>();
        boolean csv = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".csv");
        String fileOut = null, evalClip = null;
        if (csv) {
            rows.addAll(readCsv(file));
        } else {
            ObjectNode top = readYaml(file, "jobs file");
            for (Iterator<String> it = top.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!List.of("defaults", "jobs", "output_dir", "eval_clip").contains(k))
                    throw new IllegalArgumentException(file + ": " + k + " is not a key of a jobs file (defaults, output_dir, eval_clip, jobs)");
            }
            if (top.hasNonNull("output_dir")) fileOut = top.get("output_dir").asText();
            if (top.hasNonNull("eval_clip")) evalClip = top.get("eval_clip").asText();
            JsonNode d = top.get("defaults");
            if (d != null && !d.isNull()) {
                if (!(d instanceof ObjectNode o)) throw new IllegalArgumentException(file + ": defaults must be a mapping of tav run settings");
                merge(defaults, o, file + ": defaults");
            }
            JsonNode js = top.get("jobs");
            if (!(js instanceof ArrayNode a) || a.isEmpty())
                throw new IllegalArgumentException(file + ": jobs must be a non-empty list of jobs");
            int i = 0;
            for (JsonNode j : a) {
                i++;
                if (!(j instanceof ObjectNode o)) throw new IllegalArgumentException(file + ": job " + i + " must be a mapping (id, video, prompt, ...)");
                rows.add(o);
            }
        }
        Path root = outRoot != null ? outRoot.toAbsolutePath().normalize()
                : fileOut != null ? resolve(file, fileOut, file.toString(), "output_dir")
                : dir.resolve(file.getFileName().toString().replaceFirst("\\.[^.]*$", "") + "-out");
        List<Job> jobs = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        int i = 0;
        for (ObjectNode row : rows) {
            i++;
            Job job = job(file, i, row, defaults, root, evalClip);
            if (!ids.add(job.id())) throw new IllegalArgumentException(file + ": job " + i + ": id '" + job.id() + "' is used by an earlier job");
            jobs.add(job);
        }
        return new BatchJobs(file, root, List.copyOf(jobs));
    }

    private static Job job(Path file, int index, ObjectNode row, ObjectNode defaults, Path root, String fileEvalClip) {
        String where = file + ": job " + index;
        JsonNode idNode = row.get("id");
        if (idNode == null || idNode.isNull() || idNode.asText().isBlank()) throw new IllegalArgumentException(where + ": id is missing");
        String id = idNode.asText().strip();
        if (!ID.matcher(id).matches())
            throw new IllegalArgumentException(where + ": id '" + id + "' must be letters, digits, '.', '_' or '-' (it names the job's folder)");
        where = file + ": job '" + id + "'";
        for (Iterator<String> it = row.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!JOB_KEYS.contains(k)) throw new IllegalArgumentException(where + ": " + k + " is not a key of a job (" + String.join(", ", JOB_KEYS)
                    + "; other tav run settings go under overrides)");
        }
        ObjectNode c = defaults.deepCopy();
        ObjectNode train = c.has("train_data") && c.get("train_data") instanceof ObjectNode t ? t : c.putObject("train_data");
        train.set("video_path", required(row, "video", where));
        train.set("prompt", required(row, "prompt", where));
        for (String k : SAMPLING) if (row.hasNonNull(k)) train.set(k, row.get(k));
        ObjectNode val = c.has("validation_data") && c.get("validation_data") instanceof ObjectNode v ? v : c.putObject("validation_data");
        JsonNode edits = row.get("edit_prompts");
        if (edits != null && !edits.isNull()) {
            if (!edits.isArray() || edits.isEmpty()) throw new IllegalArgumentException(where + ": edit_prompts must be a non-empty list of prompts");
            val.set("prompts", edits);
        }
        JsonNode o = row.get("overrides");
        if (o != null && !o.isNull()) {
            if (!(o instanceof ObjectNode on)) throw new IllegalArgumentException(where + ": overrides must be a mapping of tav run settings");
            merge(c, on, where + ": overrides");
        }
        // a batch validates once, at the end: that validation's videos are the job's edited videos
        if (!c.hasNonNull("validation_steps") && c.hasNonNull("max_train_steps")) c.set("validation_steps", c.get("max_train_steps"));
        if (!c.hasNonNull("validation_steps") && !c.hasNonNull("max_train_steps")) c.put("validation_steps", 500);
        if (!val.hasNonNull("use_inv_latent")) val.put("use_inv_latent", true);
        // a rerun resumes from the job's checkpoints: the seed must not change between runs (the official configs use 33)
        if (!c.hasNonNull("seed")) c.put("seed", 33);
        // the official default (true) is only a note in tav4j (its own attention kernels), which would repeat per job
        if (!c.has("enable_xformers_memory_efficient_attention")) c.put("enable_xformers_memory_efficient_attention", false);
        if (c.has("resume_from_checkpoint"))
            throw new IllegalArgumentException(where + ": resume_from_checkpoint is set by tav batch itself (a rerun resumes interrupted jobs)");
        c.put("output_dir", root.resolve(id).toString());
        for (String k : PATHS) {
            ObjectNode parent = k.startsWith("train_data.") ? train : c;
            String leaf = k.substring(k.indexOf('.') + 1);
            JsonNode v = parent.get(leaf);
            if (v != null && v.isTextual() && !v.asText().isBlank()) parent.put(leaf, resolve(file, v.asText(), where, k).toString());
        }
        if (!c.hasNonNull("pretrained_model_path"))
            throw new IllegalArgumentException(where + ": pretrained_model_path is missing (set it under defaults, in --base or in overrides)");
        String clip = row.hasNonNull("eval_clip") ? row.get("eval_clip").asText() : fileEvalClip;
        return new Job(id, c, clip == null || clip.isBlank() ? null : resolve(file, clip, where, "eval_clip"));
    }

    /** {@code path} taken from the jobs file's folder; one that cannot be a path (a NUL) is refused naming the key. */
    private static Path resolve(Path file, String path, String where, String key) {
        try {
            return file.getParent().resolve(path).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            throw new IllegalArgumentException(where + ": " + key + " is not a valid path: " + e.getReason());
        }
    }

    private static JsonNode required(ObjectNode row, String key, String where) {
        JsonNode v = row.get(key);
        if (v == null || v.isNull() || v.asText().isBlank()) throw new IllegalArgumentException(where + ": " + key + " is missing");
        if (!v.isValueNode()) throw new IllegalArgumentException(where + ": " + key + " must be a single value");
        return v;
    }

    /** Sets {@code from}'s keys into {@code into}; a dotted key ("validation_data.num_inference_steps") goes into its section. */
    private static void merge(ObjectNode into, ObjectNode from, String where) {
        for (Iterator<Map.Entry<String, JsonNode>> it = from.fields(); it.hasNext(); ) {
            var e = it.next();
            String[] parts = e.getKey().split("\\.", -1);  // -1 keeps empty parts: "a.", "." and "" are refused
            for (String part : parts)
                if (part.isEmpty()) throw new IllegalArgumentException(where + ": '" + e.getKey() + "' is not a setting name (an empty part)");
            ObjectNode at = into;
            for (int i = 0; i < parts.length - 1; i++) {
                JsonNode n = at.get(parts[i]);
                if (n != null && !(n instanceof ObjectNode))
                    throw new IllegalArgumentException(where + ": " + e.getKey() + ": " + parts[i] + " is not a section");
                at = n == null ? at.putObject(parts[i]) : (ObjectNode) n;
            }
            String leaf = parts[parts.length - 1];
            if (e.getValue() instanceof ObjectNode sub && at.get(leaf) instanceof ObjectNode existing) merge(existing, sub, where);
            else at.set(leaf, e.getValue());
        }
    }

    private static ObjectNode readYaml(Path file, String what) {
        JsonNode root;
        try {
            root = YAML.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(what + " not found: " + file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + what + " " + file + ": " + dev.tav4j.model.config.Json.parseError(e), e);
        }
        if (!(root instanceof ObjectNode o)) throw new IllegalArgumentException(file + ": expected a YAML mapping at the top level");
        return o;
    }

    /**
     * A CSV jobs file: a header row naming the columns (the job keys, other columns being overrides by their dotted
     * key); an empty cell leaves its setting unset; list cells hold their items separated by '|'.
     */
    private static List<ObjectNode> readCsv(Path file) {
        CsvMapper m = new CsvMapper();
        m.enable(CsvParser.Feature.TRIM_SPACES);
        m.enable(CsvParser.Feature.SKIP_EMPTY_LINES);
        List<ObjectNode> rows = new ArrayList<>();
        try (MappingIterator<Map<String, String>> it = m.readerForMapOf(String.class).with(CsvSchema.emptySchema().withHeader())
                .readValues(Files.newBufferedReader(file))) {
            int line = 1;
            while (it.hasNextValue()) {
                line++;
                Map<String, String> r = new LinkedHashMap<>(it.nextValue());
                ObjectNode row = JsonNodeFactory.instance.objectNode(), over = JsonNodeFactory.instance.objectNode();
                for (var e : r.entrySet()) {
                    String k = e.getKey().strip(), v = e.getValue();
                    if (k.isEmpty()) throw new IllegalArgumentException(file + ": the header has an empty column name");
                    if (v == null || v.isBlank()) continue;
                    JsonNode value;
                    if (LISTS.contains(k)) {
                        ArrayNode a = JsonNodeFactory.instance.arrayNode();
                        for (String s : v.split("\\|")) if (!s.isBlank()) a.add(s.strip());
                        value = a;
                    } else {
                        value = JsonNodeFactory.instance.textNode(v);
                    }
                    if (JOB_KEYS.contains(k) && !k.equals("overrides")) row.set(k, value);
                    else over.set(k, value);
                }
                if (!over.isEmpty()) row.set("overrides", over);
                rows.add(row);
            }
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("jobs file not found: " + file);
        } catch (IOException | RuntimeException e) {
            if (e instanceof IllegalArgumentException iae) throw iae;
            throw new IllegalArgumentException("cannot read jobs file " + file + ": " + oneLine(e.getMessage()), e);
        }
        if (rows.isEmpty()) throw new IllegalArgumentException(file + ": no jobs (a header row, then one row per job)");
        return rows;
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
