package dev.tav4j.runtime;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.logging.Logger;

/**
 * Backend discovery and selection: {@code cpu}, {@code cuda}, or {@code auto} (the best available that {@code auto} may
 * pick, with the reason logged). A test-only backend (the host emulation, "cuda-emu") is found only when its jar is
 * on the class path, and {@code auto} never picks it.
 */
public final class Backends {
    private static final Logger LOG = Logger.getLogger(Backends.class.getName());

    private Backends() {}

    /** Every provider on the class path, best first. */
    public static List<BackendProvider> providers() {
        List<BackendProvider> list = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class).forEach(list::add);
        list.sort(Comparator.comparingInt(BackendProvider::priority).reversed());
        return list;
    }

    /** The provider named {@code name}, if one is on the class path. */
    public static Optional<BackendProvider> provider(String name) {
        return providers().stream().filter(p -> p.name().equals(name)).findFirst();
    }

    /** {@link #select(String, BackendSettings)} with {@link BackendSettings#DEFAULTS}. */
    public static Ops select(String name) {
        return select(name, BackendSettings.DEFAULTS);
    }

    /**
     * The backend named {@code name} ("auto" or null picks the best available), made with {@code settings}; fails with
     * the probe's reason when it cannot run.
     */
    public static Ops select(String name, BackendSettings settings) {
        List<BackendProvider> all = providers();
        if (name == null || name.equals("auto")) {
            StringBuilder why = new StringBuilder();
            for (BackendProvider p : all) {
                if (!p.selectedByAuto()) continue;
                BackendProvider.Availability a = p.probe(settings);
                if (a.available()) {
                    LOG.info("backend auto: using " + p.name() + " (" + a.reason() + ")" + why);
                    return p.create(settings);
                }
                why.append("; ").append(p.name()).append(" unavailable: ").append(a.reason());
            }
            throw new IllegalStateException("no backend can run here" + why);
        }
        for (BackendProvider p : all) {
            if (p.name().equals(name)) {
                BackendProvider.Availability a = p.probe(settings);
                if (!a.available())
                    throw new IllegalStateException("backend '" + name + "' is not available: " + a.reason());
                return p.create(settings);
            }
        }
        throw new IllegalArgumentException("unknown backend '" + name + "'; known: "
                + all.stream().map(BackendProvider::name).toList());
    }
}
