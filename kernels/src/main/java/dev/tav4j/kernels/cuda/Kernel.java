package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.device.DeviceApi;
import dev.tav4j.runtime.device.DeviceApi.KernelHandle;

/**
 * A kernel of the tav4j module with the argument list the Java side declares for it, one letter per argument:
 * {@code P} device pointer, {@code L} 64-bit integer, {@code I} 32-bit integer, {@code F} float, {@code D} double.
 * Kernels are found by name and their arguments packed by position, so nothing but this ties the two together:
 * {@link #lookup} checks the declaration against the PTX entry's parameter list (count, width, integer vs float;
 * PTX writes pointers and 64-bit integers alike as .u64) when the backend resolves its kernels, and
 * {@link #check(KernelArgs)} checks every launch's packed arguments against the declaration (an array compare, no
 * allocation), so a call site that packs a different list fails before the launch with the kernel, the argument
 * index and both types.
 */
final class Kernel implements KernelHandle {
    final KernelHandle handle;
    private final String name;
    private final byte[] declared;

    private Kernel(KernelHandle handle, String name, byte[] declared) {
        this.handle = handle;
        this.name = name;
        this.declared = declared;
    }

    @Override public String name() { return name; }

    /** The declared argument list, e.g. "PPPFFL". */
    String declared() { return new String(declared, java.nio.charset.StandardCharsets.US_ASCII); }

    /** {@code api}'s kernel {@code name}, declared as {@code args}, checked against the bundled PTX. */
    static Kernel lookup(DeviceApi api, String name, String args) {
        return lookup(api, PtxSignatures.bundled(), name, args);
    }

    /** The same against {@code ptx}; throws IllegalStateException on any disagreement, before the device is asked. */
    static Kernel lookup(DeviceApi api, PtxSignatures ptx, String name, String args) {
        byte[] declared = args.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        for (byte b : declared) if (describe(b) == null) throw new IllegalArgumentException("kernel " + name + ": bad argument letter '" + (char) b + "' in " + args);
        String problem = mismatch(name, declared, ptx.params(name));
        if (problem != null) throw new IllegalStateException(problem);
        return new Kernel(api.kernel(name), name, declared);
    }

    /** Why the declaration does not fit the PTX entry, or null when it does. */
    static String mismatch(String name, byte[] declared, PtxSignatures.Type[] ptx) {
        if (ptx == null) return "kernel " + name + " is not an entry of the PTX module";
        if (ptx.length != declared.length)
            return "kernel " + name + ": the Java side declares " + declared.length + " arguments, the PTX entry has "
                    + ptx.length + " (" + ptxList(ptx) + ")";
        for (int i = 0; i < ptx.length; i++)
            if (!fits(declared[i], ptx[i]))
                return "kernel " + name + ", parameter " + i + ": the Java side declares " + describe(declared[i])
                        + ", the PTX entry has " + ptx[i].ptx;
        return null;
    }

    private static boolean fits(byte arg, PtxSignatures.Type t) {
        return switch (arg) {
            case 'P', 'L' -> t == PtxSignatures.Type.B64;
            case 'I' -> t == PtxSignatures.Type.B32;
            case 'F' -> t == PtxSignatures.Type.F32;
            case 'D' -> t == PtxSignatures.Type.F64;
            default -> false;
        };
    }

    static String describe(byte arg) {
        return switch (arg) {
            case 'P' -> "a pointer (64-bit)";
            case 'L' -> "a 64-bit integer";
            case 'I' -> "a 32-bit integer";
            case 'F' -> "a 32-bit float";
            case 'D' -> "a 64-bit float";
            default -> null;
        };
    }

    private static String ptxList(PtxSignatures.Type[] ptx) {
        StringBuilder s = new StringBuilder();
        for (PtxSignatures.Type t : ptx) s.append(s.isEmpty() ? "" : " ").append(t.ptx);
        return s.toString();
    }

    /** Throws when the arguments packed in {@code a} are not the declared list. */
    void check(KernelArgs a) {
        int n = a.count();
        if (n != declared.length)
            throw new IllegalArgumentException("kernel " + name + ": launched with " + n + " arguments, its signature has "
                    + declared.length + " (" + declared() + ")");
        for (int i = 0; i < n; i++) {
            byte k = a.kind(i);
            if (k != declared[i])
                throw new IllegalArgumentException("kernel " + name + ", parameter " + i + ": launched with " + describe(k)
                        + ", its signature has " + describe(declared[i]) + " (" + declared() + ")");
        }
    }
}
