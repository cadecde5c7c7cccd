package dev.tav4j.cli;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Parallel;
import picocli.CommandLine.Command;

import java.util.List;

/** {@code tav info}: the JVM, and every backend with whether it can run here and why. */
@Command(name = "info", description = "Show the backends found and why any is unavailable.")
final class InfoCommand implements Runnable, CliEnvironment.Aware {
    private CliEnvironment env;

    @Override public void environment(CliEnvironment env) { this.env = env; }

    @Override public void run() {
        if (env == null) env = CliEnvironment.read();
        // facts about the JVM, not settings: printed as they are
        System.out.println("tav4j 0.1.0 on Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + "), "
                + System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        System.out.println("cpu threads: " + Parallel.THREADS + ", max heap " + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB");
        System.out.println("backends:");
        List<BackendProvider> providers = Backends.providers();
        for (BackendProvider p : providers) {
            BackendProvider.Availability a;
            try {
                a = p.probe(env.backend());
            } catch (RuntimeException | LinkageError e) {
                a = BackendProvider.Availability.no("probe failed: " + e);
            }
            System.out.printf("  %-8s %s: %s%n", p.name(), a.available() ? "available" : "unavailable", a.reason());
        }
        if (providers.stream().noneMatch(p -> p.name().equals(DeviceOption.EMULATION)))
            System.out.printf("  %-8s not installed: the host emulation of the CUDA kernels is test support, not in this build%n",
                    DeviceOption.EMULATION);
        for (BackendProvider p : providers) {
            List<String> details;
            try {
                details = p.details(env.backend());
            } catch (RuntimeException | LinkageError e) {
                details = List.of("details failed: " + e);
            }
            if (details.isEmpty()) continue;
            System.out.println(p.name() + " details:");
            for (String line : details) System.out.println("  " + line);
        }
    }
}
