package dev.tav4j.bench;

import dev.tav4j.runtime.AttentionKind;
import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.KernelTiming;
import dev.tav4j.runtime.Ops;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where a step's time goes on a backend that computes on the host (cpu): the wall time of every {@link Ops} and
 * {@link GradOps} call, summed per op, as the {@link KernelTiming} the benches' {@code --profile} prints. Host ops
 * run synchronously on the calling thread (their work is split over the pool inside the call), so a call's wall
 * time is the op's time. Only the calls the model makes are timed: what a CpuOps method calls inside itself is part
 * of its op. A bench tool: it wraps the backend in a proxy (a few hundred ns per call, noise against ops of
 * milliseconds), never the backend a user runs.
 */
public final class HostOpTiming implements KernelTiming {
    /** Calls that do no computing of their own (bookkeeping, views, metadata): not timed. */
    private static final Set<String> UNTIMED = Set.of("name", "computesOnHost", "capturesSteps", "kernelTiming", "grad", "toString",
            "hashCode", "equals", "peakDeviceBytes", "resetPeakDeviceBytes", "synchronize");

    private final Map<String, long[]> totals = new HashMap<>(); // name → {calls, nanos}
    private volatile boolean running;

    private HostOpTiming() {}

    /** {@code ops} with every op call timed while the returned backend's {@link Ops#kernelTiming()} is started. */
    public static Ops wrap(Ops ops) {
        if (!ops.computesOnHost()) throw new IllegalArgumentException("host op timing needs a host backend, got " + ops.name());
        HostOpTiming timing = new HostOpTiming();
        GradOps grad = ops.grad();
        GradOps timedGrad = proxy(GradOps.class, grad, timing, "grad.");
        InvocationHandler h = (p, m, args) -> switch (m.getName()) {
            case "kernelTiming" -> java.util.Optional.of(timing);
            case "grad" -> timedGrad;
            default -> timing.call(m, ops, args, "");
        };
        return (Ops) Proxy.newProxyInstance(Ops.class.getClassLoader(), new Class<?>[] {Ops.class}, h);
    }

    private static <T> T proxy(Class<T> type, T target, HostOpTiming timing, String prefix) {
        InvocationHandler h = (p, m, args) -> timing.call(m, target, args, prefix);
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, h));
    }

    private Object call(Method m, Object target, Object[] args, String prefix) throws Throwable {
        boolean timed = running && !UNTIMED.contains(m.getName());
        long t0 = timed ? System.nanoTime() : 0;
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        } finally {
            if (timed) {
                long ns = System.nanoTime() - t0;
                synchronized (totals) {
                    long[] t = totals.computeIfAbsent(prefix + label(m, args), k -> new long[2]);
                    t[0]++;
                    t[1] += ns;
                }
            }
        }
    }

    /** The op's name; attention also names its kind (sparse-causal, cross and temporal differ by far in cost). */
    private static String label(Method m, Object[] args) {
        if (args != null && args.length > 0 && args[0] instanceof AttentionKind kind) return m.getName() + " " + kind;
        return m.getName();
    }

    @Override public void start() {
        synchronized (totals) {
            totals.clear();
        }
        running = true;
    }

    @Override public List<Entry> stop() {
        running = false;
        List<Entry> out = new ArrayList<>();
        synchronized (totals) {
            totals.forEach((k, v) -> out.add(new Entry(k, v[0], v[1] / 1e6)));
        }
        out.sort(Comparator.comparingDouble(Entry::totalMillis).reversed());
        return out;
    }

    @Override public boolean running() { return running; }
}
