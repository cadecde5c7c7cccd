package dev.tav4j.runtime;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.logging.Logger;

/** Backend discovery and selection: {@code cpu}, {@code cuda}, or {@code auto} (the best available, with the reason logged). */
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

    /** The backend named {@code name} ("auto" picks the best available); fails with the probe's reason when it cannot run. */
    public static Ops select(String name) {
        List<BackendProvider> all = providers();
        if (name == null || name.equals("auto")) {
            StringBuilder why = new StringBuilder();
            for (BackendProvider p : all) {
                BackendProvider.Availability a = p.probe();
                if (a.available()) {
                    LOG.info("backend auto: using " + p.name() + " (" + a.reason() + ")" + why);
                    return p.create();
                }
                why.append("; ").append(p.name()).append(" unavailable: ").append(a.reason());
            }
            throw new IllegalStateException("no backend can run here" + why);
        }
        for (BackendProvider p : all) {
            if (p.name().equals(name)) {
                BackendProvider.Availability a = p.probe();
                if (!a.available())
                    throw new IllegalStateException("backend '" + name + "' is not available: " + a.reason());
                return p.create();
            }
        }
        throw new IllegalArgumentException("unknown backend '" + name + "'; known: "
                + all.stream().map(BackendProvider::name).toList());
    }
}
