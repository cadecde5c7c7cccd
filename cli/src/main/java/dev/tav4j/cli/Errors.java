package dev.tav4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CancellationException;

/**
 * Turns exceptions into one-line messages for the user (the engine's messages already name the file or tensor).
 * A problem with the input or the environment is its message; anything else is a bug, reported in one line with
 * the file the full trace was written to.
 */
final class Errors {
    private Errors() {}

    static String describe(Throwable ex) {
        Throwable t = rootWithMessage(ex);
        String msg = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        if (t instanceof OutOfMemoryError) msg += " (try fewer frames, a smaller size, or more heap via TAV_JAVA_OPTS=-Xmx…)";
        return oneLine(msg);
    }

    /** The line to print for {@code ex}: its message, or for an unexpected error the message and where its trace went. */
    static String report(Throwable ex, String thread) {
        Throwable t = rootWithMessage(ex), inner = ex;
        while (inner.getCause() != null && inner.getCause() != inner) inner = inner.getCause();
        if (expected(t) || expected(inner)) return describe(ex);
        t = inner;
        String where = thread == null ? "" : " in thread " + thread;
        String head = "internal error" + where + ": " + t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + oneLine(t.getMessage()));
        Path trace = writeTrace(ex);
        return head + (trace == null ? " (the trace could not be written; run with -Dtav.debug=true to see it)"
                : "; full trace in " + trace + " (please attach it to a bug report)");
    }

    /** Errors the user can act on: bad input (arguments, files, configs), I/O, memory, cancellation. */
    private static boolean expected(Throwable t) {
        return t instanceof IllegalArgumentException || t instanceof IllegalStateException || t instanceof UnsupportedOperationException
                || t instanceof IOException || t instanceof UncheckedIOException || t instanceof OutOfMemoryError
                || t instanceof CancellationException || t instanceof SecurityException
                || t.getClass().getName().startsWith("dev.tav4j.");
    }

    private static Throwable rootWithMessage(Throwable ex) {
        Throwable t = ex;
        while ((t.getMessage() == null || t instanceof java.lang.reflect.InvocationTargetException) && t.getCause() != null) t = t.getCause();
        return t;
    }

    private static String oneLine(String msg) {
        return msg.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /** The full trace in a file under the system temp folder; null if it cannot be written. */
    private static Path writeTrace(Throwable ex) {
        try {
            StringWriter sw = new StringWriter();
            ex.printStackTrace(new PrintWriter(sw));
            Path f = Files.createTempFile("tav-error-", ".txt");
            Files.writeString(f, sw.toString());
            return f;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
