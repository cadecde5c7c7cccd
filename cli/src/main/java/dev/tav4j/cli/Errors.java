package dev.tav4j.cli;

/** Turns exceptions into one-line messages for the user (the engine's messages already name the file or tensor). */
final class Errors {
    private Errors() {}

    static String describe(Throwable ex) {
        Throwable t = ex;
        while ((t.getMessage() == null || t instanceof java.lang.reflect.InvocationTargetException) && t.getCause() != null) t = t.getCause();
        String msg = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        if (t instanceof OutOfMemoryError) msg += " (try fewer frames, a smaller size, or more heap via TAV_JAVA_OPTS=-Xmx…)";
        return msg;
    }
}
