package dev.tav4j.model.tune;

import dev.tav4j.runtime.GradOps;
import dev.tav4j.runtime.Ops;
import dev.tav4j.runtime.Tensor;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.List;

/**
 * A backend that poisons a tuning step's gradient on the device, for the tests of skipped steps: just before the
 * tuner's clip and finite check ({@link GradOps#clipFactors}) it sets g[0] = g[0] + p·g[0] for the first trainable
 * parameter's gradient g, with p read from a device scalar the test writes before each step (0 keeps the gradient,
 * Inf poisons it). The poisoning is device work, so it is captured and replayed with the rest of the step.
 */
final class PoisonedGradients implements AutoCloseable {
    private final Ops base;
    private final Tensor coefficients;  // [1, p]
    final Ops ops;

    PoisonedGradients(Ops base) {
        this.base = base;
        this.coefficients = base.allocateF32(2);
        next(0f);
        GradOps grad = base.grad();
        GradOps poisoning = proxy(GradOps.class, grad, (m, args) -> {
            if (m.getName().equals("clipFactors")) poison(((List<?>) args[0]).get(0));
            return m.invoke(grad, args);
        });
        this.ops = proxy(Ops.class, base, (m, args) -> m.getName().equals("grad") ? poisoning : m.invoke(base, args));
    }

    /** The poison for the next step: 0 or Inf (write it before the step, never inside one). */
    void next(float p) {
        base.write(new float[] {1f, p}, coefficients);
    }

    private void poison(Object gradient) {
        Tensor g = ((Tensor) gradient).reshape(-1).slice(0, 1);
        try (Tensor t = base.allocateF32(1)) {
            base.axpby(coefficients, g, g, t);
            base.copy(t, g);
        }
    }

    private interface Call {
        Object apply(Method m, Object[] args) throws Exception;
    }

    @SuppressWarnings("unchecked")
    private static <T> T proxy(Class<T> type, T target, Call call) {
        InvocationHandler h = (p, m, args) -> {
            try {
                return call.apply(m, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return (T) Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, h);
    }

    @Override public void close() { coefficients.close(); }
}
