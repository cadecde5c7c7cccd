package dev.tav4j.model.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tav4j.model.config.ConfigException;
import dev.tav4j.model.config.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Finds the weight files of one component folder, in the order diffusers and transformers look for them:
 * the single file, a sharded set with its index, then the fp16 variants; and explains what to do when the
 * folder holds only PyTorch pickles.
 */
final class WeightFiles {
    private static final List<String> BASES = List.of("diffusion_pytorch_model", "model");
    private static final List<String> PICKLES = List.of(".bin", ".ckpt", ".pt", ".pth");

    private WeightFiles() {}

    /**
     * The safetensors files holding the weights in {@code folder}. {@code convertFrom} is the folder to name in the
     * conversion hint (the pipeline folder for a component, or the folder itself).
     */
    static List<Path> find(Path folder, Path convertFrom) {
        for (String variant : new String[]{"", ".fp16"}) {
            for (String base : BASES) {
                Path single = folder.resolve(base + variant + ".safetensors");
                if (Files.isRegularFile(single)) return List.of(single);
            }
            for (String base : BASES) {
                Path index = folder.resolve(base + ".safetensors.index" + variant + ".json");
                if (Files.isRegularFile(index)) return shards(folder, index);
            }
        }
        List<Path> all = list(folder);
        List<Path> st = all.stream().filter(p -> p.getFileName().toString().endsWith(".safetensors")).toList();
        if (st.size() == 1) return st;
        if (st.size() > 1)
            throw new ConfigException(folder + ": several safetensors files " + names(st) + " and no index json saying how they "
                    + "fit together; expected diffusion_pytorch_model.safetensors or model.safetensors (or their .fp16 variant)");
        List<Path> pickles = all.stream().filter(WeightFiles::isPickle).toList();
        if (!pickles.isEmpty())
            throw new ConfigException(folder + " holds only PyTorch pickle weights " + names(pickles)
                    + "; tav4j reads safetensors only (pickles can run arbitrary code). Convert the checkpoint once with diffusers:\n"
                    + "  python -c \"from diffusers import StableDiffusionPipeline as P; P.from_pretrained('" + convertFrom
                    + "').save_pretrained('OUT', safe_serialization=True)\"\n"
                    + "or, for this one folder: python -c \"import torch, safetensors.torch as s; s.save_file(torch.load('"
                    + pickles.getFirst() + "', map_location='cpu'), '" + folder.resolve("diffusion_pytorch_model.safetensors") + "')\"");
        throw new ConfigException(folder + ": no weights found; expected diffusion_pytorch_model.safetensors or model.safetensors "
                + "(or sharded *.safetensors with their .index.json, or the .fp16 variants)");
    }

    private static List<Path> shards(Path folder, Path index) {
        JsonNode map = Json.read(index).get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty())
            throw new ConfigException(index + ": no 'weight_map' object naming the shard of each weight");
        Set<String> files = new LinkedHashSet<>();
        map.properties().forEach(e -> files.add(e.getValue().asText()));
        List<Path> out = new ArrayList<>();
        for (String f : files) {
            Path p = folder.resolve(f).normalize();
            if (!p.startsWith(folder.normalize()) || !Files.isRegularFile(p))
                throw new ConfigException(index + ": shard '" + f + "' is missing from " + folder);
            out.add(p);
        }
        return out;
    }

    static boolean isPickle(Path p) {
        String n = p.getFileName().toString();
        return PICKLES.stream().anyMatch(n::endsWith);
    }

    static List<Path> list(Path folder) {
        try (Stream<Path> s = Files.list(folder)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + folder, e);
        }
    }

    static List<String> names(List<Path> files) {
        return files.stream().map(p -> p.getFileName().toString()).toList();
    }
}
