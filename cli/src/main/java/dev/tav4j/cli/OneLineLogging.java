package dev.tav4j.cli;

import java.util.Locale;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** java.util.logging records (the engine's warnings) as one line each, "warning: …", like the CLI's own lines. */
final class OneLineLogging {
    private OneLineLogging() {}

    static void install() {
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) root.removeHandler(h);
        ConsoleHandler h = new ConsoleHandler();  // System.err at the time of each record's publication
        h.setLevel(Level.WARNING);  // quiet by default: warnings and worse
        h.setFormatter(new Formatter() {
            @Override public String format(LogRecord r) {
                String msg = formatMessage(r).strip().replaceAll("\\s*\\R\\s*", " ");
                return r.getLevel().getName().toLowerCase(Locale.ROOT) + ": " + msg + System.lineSeparator();
            }
        });
        root.addHandler(h);
    }
}
