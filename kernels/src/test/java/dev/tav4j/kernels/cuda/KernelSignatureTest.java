package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.device.DeviceApi;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Kernels are found by name and their arguments packed by position; {@link Kernel} ties the two to the PTX. Here:
 * every kernel the Java side can launch, with its declared argument list, against the checked-in PTX (no device:
 * a stub answers the lookups), and launches packed wrong (count, pointer vs integer, 32 vs 64 bits, int vs float)
 * refused before they reach the device, over the stub and over the emulation.
 */
class KernelSignatureTest {
    /** A device that only answers kernel lookups and records launches. */
    static final class Stub {
        final Set<String> looked = new TreeSet<>();
        final List<String> launched = new ArrayList<>();
        final DeviceApi api = (DeviceApi) Proxy.newProxyInstance(DeviceApi.class.getClassLoader(), new Class<?>[] {DeviceApi.class},
                (proxy, m, a) -> switch (m.getName()) {
                    case "kernel" -> {
                        String n = (String) a[0];
                        looked.add(n);
                        yield (DeviceApi.KernelHandle) () -> n;
                    }
                    case "launch" -> {
                        launched.add(((DeviceApi.KernelHandle) a[0]).name());
                        yield null;
                    }
                    case "emulated" -> false;
                    case "maxSharedBytesPerBlock" -> 227 * 1024;
                    case "describe", "toString" -> "stub device";
                    case "close" -> null;
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    @Test
    void everyKernelTheJavaSideLaunchesMatchesItsPtxEntry() {
        PtxSignatures ptx = PtxSignatures.bundled();
        Stub s = new Stub();
        // every table of kernels the backend resolves (each lookup checks its declaration against the PTX)
        new CudaKernels(s.api);
        new CudaGradKernels(s.api);
        new TensorCoreKernels(s.api);
        new TensorCoreAttentionGrad(s.api);
        new CudaStepOps(s.api).close();
        Set<String> notLaunched = new TreeSet<>();
        for (String n : ptx.names()) if (!s.looked.contains(n)) notLaunched.add(n);
        System.out.println("[signatures] " + s.looked.size() + " kernels checked against " + ptx.size()
                + " PTX entries; entries the Java side never looks up: " + notLaunched);
        assertEquals(ptx.size(), s.looked.size(), "every PTX entry has a Java declaration; missing: " + notLaunched);
        assertTrue(notLaunched.isEmpty());
    }

    @Test
    void aDeclarationThatDisagreesWithThePtxFailsAtLookup() {
        Stub s = new Stub();
        // axpby_f32(const float* x, const float* y, float* out, float a, float b, long n): .u64 .u64 .u64 .f32 .f32 .u64
        String count = assertThrows(IllegalStateException.class, () -> Kernel.lookup(s.api, "axpby_f32", "PPPFF")).getMessage();
        assertEquals("kernel axpby_f32: the Java side declares 5 arguments, the PTX entry has 6 (.u64 .u64 .u64 .f32 .f32 .u64)", count);
        String width = assertThrows(IllegalStateException.class, () -> Kernel.lookup(s.api, "axpby_f32", "PPPFFI")).getMessage();
        assertEquals("kernel axpby_f32, parameter 5: the Java side declares a 32-bit integer, the PTX entry has .u64", width);
        String scalar = assertThrows(IllegalStateException.class, () -> Kernel.lookup(s.api, "axpby_f32", "PPFFFL")).getMessage();
        assertEquals("kernel axpby_f32, parameter 2: the Java side declares a 32-bit float, the PTX entry has .u64", scalar);
        String dbl = assertThrows(IllegalStateException.class, () -> Kernel.lookup(s.api, "groupnorm_bwd_finalize", "PPIIL")).getMessage();
        assertEquals("kernel groupnorm_bwd_finalize, parameter 4: the Java side declares a 64-bit integer, the PTX entry has .f64", dbl);
        String missing = assertThrows(IllegalStateException.class, () -> Kernel.lookup(s.api, "axpby_f64", "PPPFFL")).getMessage();
        assertEquals("kernel axpby_f64 is not an entry of the PTX module", missing);
        assertTrue(s.looked.isEmpty(), "the device is not asked for a kernel whose declaration is wrong");
    }

    @Test
    void aMismatchedLaunchFailsBeforeTheDevice() {
        Stub s = new Stub();
        try (CudaLaunch l = new CudaLaunch(s.api)) {
            Kernel axpby = l.kernels.of(DType.F32).axpby;  // PPPFFL
            l.elementwise(axpby, 10, l.args.reset().ptr(16).ptr(32).ptr(48).f32(1).f32(2).i64(10));
            assertEquals(List.of("axpby_f32"), s.launched);

            String count = assertThrows(IllegalArgumentException.class,
                    () -> l.elementwise(axpby, 10, l.args.reset().ptr(16).ptr(32).ptr(48).f32(1).f32(2))).getMessage();
            assertEquals("kernel axpby_f32: launched with 5 arguments, its signature has 6 (PPPFFL)", count);
            String width = assertThrows(IllegalArgumentException.class,
                    () -> l.elementwise(axpby, 10, l.args.reset().ptr(16).ptr(32).ptr(48).f32(1).f32(2).i32(10))).getMessage();
            assertEquals("kernel axpby_f32, parameter 5: launched with a 32-bit integer, its signature has a 64-bit integer (PPPFFL)", width);
            String scalarForPointer = assertThrows(IllegalArgumentException.class,
                    () -> l.elementwise(axpby, 10, l.args.reset().ptr(16).i64(32).ptr(48).f32(1).f32(2).i64(10))).getMessage();
            assertEquals("kernel axpby_f32, parameter 1: launched with a 64-bit integer, its signature has a pointer (64-bit) (PPPFFL)", scalarForPointer);
            String pointerForScalar = assertThrows(IllegalArgumentException.class,
                    () -> l.grid(l.kernels.groupNormFinalize, 1, 1, 256, 0)).getMessage();  // args still hold axpby's wrong list
            assertTrue(pointerForScalar.startsWith("kernel groupnorm_finalize: launched with 6 arguments"), pointerForScalar);
            l.args.reset().ptr(16).ptr(32).i32(1).i32(2).ptr(64);
            String ptrForFloat = assertThrows(IllegalArgumentException.class, () -> l.grid(l.kernels.groupNormFinalize, 1, 1, 256)).getMessage();
            assertEquals("kernel groupnorm_finalize, parameter 4: launched with a pointer (64-bit), its signature has a 32-bit float (PPIIF)", ptrForFloat);
            assertEquals(List.of("axpby_f32"), s.launched, "no mismatched launch reached the device");
        }
    }

    @Test
    void theEmulatedBackendChecksItsLaunchesToo() {
        DeviceApi api = Emu.ops().device();
        try (CudaLaunch l = new CudaLaunch(api)) {
            long buf = api.alloc(64);
            try {
                Kernel axpby = l.kernels.of(DType.F32).axpby;
                l.elementwise(axpby, 4, l.args.reset().ptr(buf).ptr(buf).ptr(buf + 16).f32(1).f32(2).i64(4));  // runs
                String msg = assertThrows(IllegalArgumentException.class,
                        () -> l.elementwise(axpby, 4, l.args.reset().ptr(buf).ptr(buf).ptr(buf + 16).f32(1).f32(2).i32(4))).getMessage();
                assertTrue(msg.startsWith("kernel axpby_f32, parameter 5: launched with a 32-bit integer"), msg);
            } finally {
                api.free(buf);
            }
        }
    }

    @Test
    void theParserIsStrict() {
        String ok = """
                .visible .entry k(
                	.param .u64 .ptr .global .align 4 k_param_0,
                	.param .s32 k_param_1,
                	.param .f64 k_param_2
                )
                .visible .entry none()
                """;
        PtxSignatures p = PtxSignatures.parse(ok);
        assertEquals(List.of(PtxSignatures.Type.B64, PtxSignatures.Type.B32, PtxSignatures.Type.F64), List.of(p.params("k")));
        assertEquals(0, p.params("none").length);
        String byValue = ".visible .entry s(\n\t.param .align 8 .b8 s_param_0[16]\n)\n";
        String msg = assertThrows(IllegalArgumentException.class, () -> PtxSignatures.parse(byValue)).getMessage();
        assertEquals("PTX: kernel s, parameter 0: cannot read '.param .align 8 .b8 s_param_0[16]'", msg);
        String u16 = ".visible .entry h(\n\t.param .u16 h_param_0\n)\n";
        assertThrows(IllegalArgumentException.class, () -> PtxSignatures.parse(u16));
    }
}
