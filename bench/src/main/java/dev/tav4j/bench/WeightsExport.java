package dev.tav4j.bench;

import com.fasterxml.jackson.databind.SerializationFeature;
import dev.tav4j.model.config.Json;
import dev.tav4j.model.config.UNetConfig;
import dev.tav4j.model.config.UNetConfigJson;
import dev.tav4j.model.io.SafeTensorsWriter;
import dev.tav4j.model.io.Weights;
import dev.tav4j.model.unet.UNet3D;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Writes a UNet3D's weights as a diffusers-layout folder ({@code config.json} saying UNet3DConditionModel, and
 * {@code diffusion_pytorch_model.safetensors} with every parameter in PyTorch layout under its checkpoint name): the
 * random-weight models of the benches, so that tav4j and the PyTorch bench script run on the same numbers.
 * <p>
 * A new folder appears whole: it is written under a hidden name beside it and renamed. An existing folder is only
 * overwritten when it holds nothing but those two files (an earlier export); the weights file is replaced first
 * and config.json last, each atomically.
 */
public final class WeightsExport {
    public static final String WEIGHTS = "diffusion_pytorch_model.safetensors";
    public static final String CONFIG = "config.json";

    private WeightsExport() {}

    /** Writes {@code cfg} with the weights {@code source} gives (read once, by name and shape) to {@code dir}. */
    public static Path write(UNetConfig cfg, Weights source, Path dir) {
        if (!cfg.is3D()) throw new IllegalArgumentException("weights export: the config must be a UNet3DConditionModel, got " + cfg.className());
        Path target = dir.toAbsolutePath().normalize();
        requireReplaceable(target);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Path tmp = null;
        try {
            collect(cfg, source, tensors);
            String config = Json.MAPPER.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(UNetConfigJson.tuned(cfg));
            if (Files.isDirectory(target)) {
                SafeTensorsWriter.write(target.resolve(WEIGHTS), tensors, Map.of("format", "pt"));
                writeAtomically(target.resolve(CONFIG), config);
            } else {
                Files.createDirectories(target.getParent());
                tmp = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".part");
                SafeTensorsWriter.write(tmp.resolve(WEIGHTS), tensors, Map.of("format", "pt"));
                Files.writeString(tmp.resolve(CONFIG), config);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                tmp = null;
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the UNet folder " + target + ": " + e.getMessage(), e);
        } finally {
            tensors.values().forEach(Tensor::close);
            if (tmp != null) deleteQuietly(tmp);
        }
    }

    /**
     * Every parameter the UNet3D of {@code cfg} loads, in load order and PyTorch layout, as {@code source} gives it:
     * the model is built once on the cpu backend and a copy of each tensor is kept as it is read.
     */
    static void collect(UNetConfig cfg, Weights source, Map<String, Tensor> out) {
        Weights keeping = new Weights() {
            @Override public String component() { return source.component(); }
            @Override public Set<String> names() { return source.names(); }
            @Override public boolean has(String name) { return source.has(name); }
            @Override public int[] shape(String name) { return source.shape(name); }
            @Override public String describe() { return source.describe(); }
            @Override public void close() {}

            @Override public Tensor load(String name, int... shape) {
                Tensor t = source.load(name, shape);
                Tensor old = out.put(name, Tensor.host(t.shape()).copyFrom(t));
                if (old != null) old.close();
                return t;
            }
        };
        try (UNet3D unet = new UNet3D(Backends.select("cpu"), cfg, keeping)) {
            if (unet.params().all().size() != out.size())
                throw new IllegalStateException("weights export: " + out.size() + " tensors read for " + unet.params().all().size() + " parameters");
        }
    }

    private static void requireReplaceable(Path target) {
        if (!Files.exists(target)) return;
        if (!Files.isDirectory(target)) throw new IllegalArgumentException(target + ": exists and is not a folder; give a new folder for the UNet weights");
        try (Stream<Path> s = Files.list(target)) {
            List<String> other = s.map(p -> p.getFileName().toString()).filter(n -> !Set.of(WEIGHTS, CONFIG).contains(n)).toList();
            if (!other.isEmpty())
                throw new IllegalArgumentException(target + ": holds other files than " + CONFIG + " and " + WEIGHTS + " (" + other
                        + "); give a new folder or one written by tav bench weights");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + target, e);
        }
    }

    private static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".part");
        try {
            Files.writeString(tmp, text);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: a hidden .part folder is never read
        }
    }
}
