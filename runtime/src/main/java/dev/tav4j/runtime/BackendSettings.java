package dev.tav4j.runtime;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * How a backend is set up: one immutable value, built once where the program starts (the CLI from its options and
 * environment, a benchmark's main, a library caller, a test) and handed to {@link BackendProvider#create} or
 * {@link Backends#select(String, BackendSettings)}. Nothing below that entry point reads system properties or
 * environment variables; {@link Ops#settings()} tells the layers above what the backend was made with.
 *
 * @param precision           what a device backend stores weights and activations in (F32, BF16, F16; fp32 accumulation
 *                            always). The cpu backend computes in F32 whatever is asked: compare {@link Ops#precision()}.
 * @param tensorCores         the tensor-core kernels of BF16/F16 conv2d and attention, forward and backward (A/B switch)
 * @param tensorCoresBackward the backward's tensor-core kernels alone (only while {@code tensorCores} is on)
 * @param fuseResiduals       residual adds fused into the matmul/conv2d epilogue (off: op, then a separate add; A/B)
 * @param cudaGraphs          whether denoising and tuning steps may be captured as CUDA graphs and replayed; off turns
 *                            capture off everywhere ({@link StepLoop}), whatever a caller asks per loop
 * @param emulationLibrary    the host emulation's kernel library ({@code libtav_emu.so}) for the "cuda-emu" backend;
 *                            null: its default places (the build folder)
 * @param libraryEnvironment  where native libraries are looked for beyond the loader path: the values of
 *                            {@link #LIBRARY_KEYS} (system properties {@code tav.cuda.driver}, {@code tav.cublas},
 *                            {@code user.home}; environment variables {@code CUDA_HOME}, {@code PYTHONPATH},
 *                            {@code VIRTUAL_ENV}, {@code CONDA_PREFIX}) as read at the entry point; empty: the
 *                            loader path and the fixed common locations only
 * @param cpuVectorApi        whether the cpu backend runs its kernels on the Vector API (jdk.incubator.vector) when
 *                            that module is in the JVM; off: scalar loops always (to compare the two in one JVM).
 *                            Without the module the kernels are scalar loops whatever this says (one warning).
 */
public record BackendSettings(DType precision, boolean tensorCores, boolean tensorCoresBackward, boolean fuseResiduals,
                              boolean cudaGraphs, Path emulationLibrary, Map<String, String> libraryEnvironment,
                              boolean cpuVectorApi) {
    /** F32, tensor cores, fused residuals and CUDA graphs on, default library search, the Vector API where present. */
    public static final BackendSettings DEFAULTS = new BackendSettings(DType.F32, true, true, true, true, null, Map.of(), true);

    /** System property: the precision of {@link #fromSystem}: fp32 (default), bf16 or fp16. */
    public static final String PRECISION_PROPERTY = "tav.cuda.precision";
    /** System property ({@code false}) or environment variable ({@code 0}) that turns the tensor-core kernels off. */
    public static final String TENSOR_CORES_PROPERTY = "tav.cuda.tensorCores", TENSOR_CORES_ENV = "TAV_CUDA_TENSOR_CORES";
    /** The same for the backward's tensor-core kernels alone. */
    public static final String TENSOR_CORES_BACKWARD_PROPERTY = "tav.cuda.tensorCores.backward",
            TENSOR_CORES_BACKWARD_ENV = "TAV_CUDA_TENSOR_CORES_BACKWARD";
    /** The same for the fused residual adds. */
    public static final String FUSE_RESIDUALS_PROPERTY = "tav.cuda.fuseResiduals", FUSE_RESIDUALS_ENV = "TAV_CUDA_FUSE_RESIDUALS";
    /** System property: {@code -Dtav.cuda.graphs=false} turns step capture off everywhere (as {@code --no-cuda-graphs}). */
    public static final String CUDA_GRAPHS_PROPERTY = "tav.cuda.graphs";
    /**
     * System property ({@code false}) or environment variable ({@code 0}) that makes the cpu backend run scalar loops
     * even where jdk.incubator.vector is present ({@link #cpuVectorApi}).
     */
    public static final String CPU_VECTOR_API_PROPERTY = "tav.cpu.vectorApi", CPU_VECTOR_API_ENV = "TAV_CPU_VECTOR_API";
    /** System property naming the emulation library ({@link #emulationLibrary}); the Maven build sets it for the tests. */
    public static final String EMULATION_LIBRARY_PROPERTY = "tav.emu.lib";
    /** The system properties and environment variables that {@link #libraryEnvironment} holds. */
    public static final List<String> LIBRARY_KEYS = List.of("tav.cuda.driver", "tav.cublas", "user.home",
            "CUDA_HOME", "PYTHONPATH", "VIRTUAL_ENV", "CONDA_PREFIX");

    public BackendSettings {
        Objects.requireNonNull(precision, "precision");
        libraryEnvironment = libraryEnvironment == null ? Map.of() : Map.copyOf(libraryEnvironment);
    }

    /**
     * The settings the documented switches give: {@link #PRECISION_PROPERTY}, the tensor-core, fusion, graph and CPU Vector API
     * switches (a property says {@code false}, an environment variable {@code 0}; {@code off} and {@code no} too; the
     * property wins), {@link #EMULATION_LIBRARY_PROPERTY} and {@link #LIBRARY_KEYS}. Pure: an entry point passes
     * {@code System::getProperty, System::getenv}; a test passes maps.
     */
    public static BackendSettings fromSystem(Function<String, String> property, Function<String, String> env) {
        String p = property.apply(PRECISION_PROPERTY);
        String emu = property.apply(EMULATION_LIBRARY_PROPERTY);
        Map<String, String> libs = new LinkedHashMap<>();
        for (String k : LIBRARY_KEYS) {
            String v = Character.isUpperCase(k.charAt(0)) ? env.apply(k) : property.apply(k);
            if (v != null && !v.isBlank()) libs.put(k, v);
        }
        return new BackendSettings(p == null || p.isBlank() ? DType.F32 : parsePrecision(p),
                on(property, env, TENSOR_CORES_PROPERTY, TENSOR_CORES_ENV),
                on(property, env, TENSOR_CORES_BACKWARD_PROPERTY, TENSOR_CORES_BACKWARD_ENV),
                on(property, env, FUSE_RESIDUALS_PROPERTY, FUSE_RESIDUALS_ENV),
                on(property, env, CUDA_GRAPHS_PROPERTY, null),
                emu == null || emu.isBlank() ? null : Path.of(emu), libs,
                on(property, env, CPU_VECTOR_API_PROPERTY, CPU_VECTOR_API_ENV));
    }

    private static boolean on(Function<String, String> property, Function<String, String> env, String prop, String var) {
        String v = property.apply(prop);
        if (v == null && var != null) v = env.apply(var);
        if (v == null) return true;
        return switch (v.strip().toLowerCase(Locale.ROOT)) {
            case "false", "0", "off", "no" -> false;
            default -> true;
        };
    }

    /** Parses "fp32", "bf16", "fp16" (also f32, f16, float32, bfloat16, float16, half; any case). */
    public static DType parsePrecision(String s) {
        return switch (s.strip().toLowerCase(Locale.ROOT)) {
            case "fp32", "f32", "float32" -> DType.F32;
            case "bf16", "bfloat16" -> DType.BF16;
            case "fp16", "f16", "float16", "half" -> DType.F16;
            default -> throw new IllegalArgumentException("precision must be fp32, bf16 or fp16, got '" + s + "'");
        };
    }

    /** The option's spelling of a precision: fp32, bf16 or fp16. */
    public static String precisionName(DType p) {
        return switch (p) {
            case F32 -> "fp32";
            case BF16 -> "bf16";
            case F16 -> "fp16";
        };
    }

    public BackendSettings withPrecision(DType p) {
        return new BackendSettings(p, tensorCores, tensorCoresBackward, fuseResiduals, cudaGraphs, emulationLibrary, libraryEnvironment, cpuVectorApi);
    }

    public BackendSettings withTensorCores(boolean on) {
        return new BackendSettings(precision, on, tensorCoresBackward, fuseResiduals, cudaGraphs, emulationLibrary, libraryEnvironment, cpuVectorApi);
    }

    public BackendSettings withTensorCoresBackward(boolean on) {
        return new BackendSettings(precision, tensorCores, on, fuseResiduals, cudaGraphs, emulationLibrary, libraryEnvironment, cpuVectorApi);
    }

    public BackendSettings withFuseResiduals(boolean on) {
        return new BackendSettings(precision, tensorCores, tensorCoresBackward, on, cudaGraphs, emulationLibrary, libraryEnvironment, cpuVectorApi);
    }

    public BackendSettings withCudaGraphs(boolean on) {
        return new BackendSettings(precision, tensorCores, tensorCoresBackward, fuseResiduals, on, emulationLibrary, libraryEnvironment, cpuVectorApi);
    }

    public BackendSettings withEmulationLibrary(Path library) {
        return new BackendSettings(precision, tensorCores, tensorCoresBackward, fuseResiduals, cudaGraphs, library, libraryEnvironment, cpuVectorApi);
    }

    public BackendSettings withCpuVectorApi(boolean on) {
        return new BackendSettings(precision, tensorCores, tensorCoresBackward, fuseResiduals, cudaGraphs, emulationLibrary, libraryEnvironment, on);
    }

    /** Whether the backward's tensor-core kernels run: both switches on. */
    public boolean backwardTensorCores() { return tensorCores && tensorCoresBackward; }
}
