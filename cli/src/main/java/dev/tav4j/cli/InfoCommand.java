package dev.tav4j.cli;

import dev.tav4j.runtime.BackendProvider;
import dev.tav4j.runtime.Backends;
import dev.tav4j.runtime.Parallel;
import picocli.CommandLine.Command;

/** {@code tav info}: the JVM, and every backend with whether it can run here and why. */
@Command(name = "info", description = "Show the backends found and why any is unavailable.")
final class InfoCommand implements Runnable {
    @Override public void run() {
        System.out.println("tav4j 0.1.0 on Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + "), "
                + System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        System.out.println("cpu threads: " + Parallel.THREADS + ", max heap " + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB");
        System.out.println("backends:");
        for (BackendProvider p : Backends.providers()) {
            BackendProvider.Availability a;
            try {
                a = p.probe();
            } catch (RuntimeException | LinkageError e) {
                a = BackendProvider.Availability.no("probe failed: " + e);
            }
            System.out.printf("  %-6s %s: %s%n", p.name(), a.available() ? "available" : "unavailable", a.reason());
        }
        System.out.println("cuda details:");
        for (String line : dev.tav4j.kernels.cuda.CudaBackendProvider.report().split("\n")) System.out.println("  " + line);
    }
}
