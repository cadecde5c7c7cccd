package dev.tav4j.kernels.cuda;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The parameter lists of a PTX module's {@code .entry} kernels, parsed once: what {@link Kernel#lookup} checks each
 * kernel's declared argument list against. A small, strict parser of what nvcc writes for tav4j's extern "C"
 * kernels: {@code .visible .entry name(} then one {@code .param .<type> name_param_<i>} per line, then {@code )}.
 * Anything else inside a parameter list (by-value structs as {@code .align .b8 [..]}, an unknown type) is refused
 * rather than guessed: a kernel taking it would need a new argument kind anyway.
 */
final class PtxSignatures {
    /** A PTX parameter type as the check sees it: pointers and 64-bit integers are both .u64/.s64/.b64 in PTX. */
    enum Type {
        B32(".u32"), F32(".f32"), B64(".u64"), F64(".f64");

        final String ptx;

        Type(String ptx) { this.ptx = ptx; }

        static Type of(String t) {
            return switch (t) {
                case ".u32", ".s32", ".b32" -> B32;
                case ".f32" -> F32;
                case ".u64", ".s64", ".b64" -> B64;
                case ".f64" -> F64;
                default -> null;
            };
        }
    }

    private final Map<String, Type[]> entries;

    private PtxSignatures(Map<String, Type[]> entries) {
        this.entries = Collections.unmodifiableMap(entries);
    }

    /** The parameter types of kernel {@code name}, or null when the module has no such entry. */
    Type[] params(String name) {
        Type[] t = entries.get(name);
        return t == null ? null : t.clone();
    }

    /** Every entry's name, in module order. */
    Iterable<String> names() { return entries.keySet(); }

    int size() { return entries.size(); }

    private static final class Bundled {
        static final PtxSignatures SIGNATURES = parse(new String(Ptx.bytes(), StandardCharsets.US_ASCII));
    }

    /** The signatures of the module tav4j ships (the PTX a GPU loads; the emulation is built from the same sources). */
    static PtxSignatures bundled() { return Bundled.SIGNATURES; }

    /** Parses every {@code .entry} of a PTX text; throws naming the line for anything it does not understand. */
    static PtxSignatures parse(String ptx) {
        Map<String, Type[]> out = new LinkedHashMap<>();
        int at = 0;
        while ((at = ptx.indexOf(".entry ", at)) >= 0) {
            int open = ptx.indexOf('(', at), close = ptx.indexOf(')', at);
            int eol = ptx.indexOf('\n', at);
            if (open < 0 || close < open || (eol >= 0 && open > eol))
                throw new IllegalArgumentException("PTX: cannot read the .entry at offset " + at + ": " + line(ptx, at));
            String name = ptx.substring(at + ".entry ".length(), open).strip();
            if (!name.matches("[A-Za-z_$][A-Za-z0-9_$]*")) throw new IllegalArgumentException("PTX: odd entry name '" + name + "'");
            String body = ptx.substring(open + 1, close).strip();
            String[] params = body.isEmpty() ? new String[0] : body.split(",");
            Type[] types = new Type[params.length];
            for (int i = 0; i < params.length; i++) {
                // ".param .u64 name_param_3", possibly with ".ptr.global.align 8" between type and name
                String[] w = params[i].strip().split("\\s+");
                Type t = w.length >= 3 && w[0].equals(".param") ? Type.of(w[1]) : null;
                if (t == null || !w[w.length - 1].equals(name + "_param_" + i) || (w.length > 3 && !w[2].startsWith(".ptr")))
                    throw new IllegalArgumentException("PTX: kernel " + name + ", parameter " + i + ": cannot read '" + params[i].strip() + "'");
                types[i] = t;
            }
            if (out.put(name, types) != null) throw new IllegalArgumentException("PTX: entry " + name + " twice");
            at = close;
        }
        return new PtxSignatures(out);
    }

    private static String line(String s, int at) {
        int e = s.indexOf('\n', at);
        return s.substring(at, e < 0 ? s.length() : e);
    }
}
