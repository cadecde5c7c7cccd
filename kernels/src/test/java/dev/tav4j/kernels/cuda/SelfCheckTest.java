package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.Tensor;
import dev.tav4j.runtime.device.DeviceApi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU self-check on the emulated device: every family passes in every precision; a deliberately broken kernel
 * (a device wrapper that overwrites the start of one kernel's output after it runs) fails its family, a tensor-core
 * family is then switched to its CUDA-core fallback with one warning (and a later run, from the cache, too), and a
 * family with no fallback stops the run with one line.
 */
class SelfCheckTest {
    /** The emulated device, with kernel {@code broken}'s output (argument {@code outArg}) overwritten after each launch. */
    static DeviceApi breaking(DeviceApi d, String broken, int outArg) {
        return (DeviceApi) Proxy.newProxyInstance(DeviceApi.class.getClassLoader(), new Class<?>[] {DeviceApi.class}, (p, m, a) -> {
            Object r;
            try {
                r = m.invoke(d, a);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            if (m.getName().equals("launch") && ((DeviceApi.KernelHandle) a[0]).name().equals(broken)) {
                MemorySegment params = (MemorySegment) a[8];
                long out = params.getAtIndex(ValueLayout.ADDRESS, outArg).reinterpret(8).get(ValueLayout.JAVA_LONG, 0);
                d.memset(out, 0x5a, 256);  // 0x5a5a: ~1.5e16 as bf16, 203 as fp16: far off either way
            }
            if (m.getName().equals("close")) return null;  // the shared emulated device stays open
            return r;
        });
    }

    @Test
    void everyFamilyPassesOnTheEmulationInEachPrecision() {
        CudaOps ops = Emu.ops();
        for (DType p : DType.values()) {
            SelfCheck.Report r = SelfCheck.run(ops, p);
            System.out.printf(Locale.ROOT, "[emu-measure] self-check %s: %.1f s%n", p, r.seconds());
            for (SelfCheck.Result x : r.results()) System.out.println("[emu-measure]   " + x.line());
            assertTrue(r.passed(), "failed: " + r.failed());
            assertEquals(p == DType.F32 ? 8 : 12, r.results().size());
        }
    }

    @Test
    void aBrokenTensorCoreKernelSwitchesItsFamilyToTheFallback(@TempDir Path cache) throws Exception {
        DeviceApi dev = breaking(Emu.ops().device(), "conv2d_tc_bf16", 4);  // conv2d(x, w, bias, residual, out, ...)
        CudaOps ops = new CudaOps(dev, "cuda-emu", DType.BF16);
        SelfCheck.Report r = SelfCheck.cached(ops, DType.BF16, cache);
        assertFalse(r.cached());
        assertEquals(List.of(SelfCheck.Family.CONV2D_TC), r.failed().stream().map(SelfCheck.Result::family).toList());
        assertTrue(r.failed().getFirst().kernels().contains("conv2d_tc_bf16"), r.failed().getFirst().kernels());
        List<String> warnings = SelfCheck.apply(ops, r);
        assertEquals(1, warnings.size());
        assertTrue(warnings.getFirst().startsWith("tav: warning: GPU self-check: CONV2D_TC (bf16, max rel err "), warnings.getFirst());
        assertTrue(warnings.getFirst().endsWith("; using its CUDA-core kernels instead"), warnings.getFirst());
        assertEquals(Set.of(TensorCoreFamily.CONV2D), ops.tensorCoresOff());
        assertEquals(List.of("conv2d_bf16"), conv(ops), "the switched-off family runs its CUDA-core kernel");

        // a later run: the cache answers (nothing is checked again) and the family is switched off again
        Path file = SelfCheck.cacheFile(ops, DType.BF16, cache);
        assertTrue(Files.readString(file).contains("\"family\": \"CONV2D_TC\", \"precision\": \"BF16\""), Files.readString(file));
        CudaOps later = new CudaOps(dev, "cuda-emu", DType.BF16);
        assertEquals(List.of("conv2d_tc_bf16"), conv(later), "tensor cores are on before the check is applied");
        SelfCheck.Report again = SelfCheck.cached(later, DType.BF16, cache);
        assertTrue(again.cached());
        assertEquals(r.results().size(), again.results().size());
        assertEquals(1, SelfCheck.apply(later, again).size());
        assertEquals(List.of("conv2d_bf16"), conv(later));
        assertEquals(Set.of(TensorCoreFamily.CONV2D), later.withPrecision(DType.F16).tensorCoresOff(), "kept by withPrecision");
        ops.close();
        later.close();
    }

    @Test
    void aBrokenKernelWithNoFallbackStopsTheRun() {
        DeviceApi dev = breaking(Emu.ops().device(), "layernorm_f16", 3);  // layernorm(x, gamma, beta, out, ...)
        try (CudaOps ops = new CudaOps(dev, "cuda-emu", DType.F16)) {
            SelfCheck.Report r = SelfCheck.run(ops, DType.F16);
            assertEquals(List.of(SelfCheck.Family.LAYERNORM), r.failed().stream().map(SelfCheck.Result::family).toList());
            String msg = assertThrows(IllegalStateException.class, () -> SelfCheck.apply(ops, r)).getMessage();
            assertTrue(msg.startsWith("GPU self-check failed on emulated CUDA on the host"), msg);
            assertTrue(msg.contains("with no fallback: LAYERNORM (fp16, max rel err "), msg);
            assertFalse(msg.contains("\n"), msg);
        }
    }

    /** The kernels one BF16 3x3 conv (16 -> 16 channels, tensor-core eligible) runs on {@code ops}. */
    private static List<String> conv(CudaOps ops) {
        float[] x = new float[2 * 4 * 4 * 16], w = new float[9 * 16 * 16];
        try (Tensor hx = Tensor.of(x, 2, 4, 4, 16); Tensor hw = Tensor.of(w, 3, 3, 16, 16);
             Tensor dx = ops.upload(hx); Tensor dw = ops.upload(hw); Tensor out = ops.allocate(2, 4, 4, 16)) {
            KernelProfiler p = ops.profile(true);
            ops.conv2d(dx, dw, null, 1, 1, false, out);
            List<String> names = p.entries().stream().map(KernelProfiler.Entry::name).toList();
            ops.profile(false);
            return names;
        }
    }
}
