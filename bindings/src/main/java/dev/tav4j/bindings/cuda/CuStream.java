package dev.tav4j.bindings.cuda;

import static dev.tav4j.bindings.cuda.Binder.FLOAT;
import static dev.tav4j.bindings.cuda.Binder.INT;
import static dev.tav4j.bindings.cuda.Binder.LONG;
import static dev.tav4j.bindings.cuda.Binder.PTR;
import static dev.tav4j.bindings.cuda.Binder.rethrow;
import static dev.tav4j.bindings.cuda.CuDriver.check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** Streams, events and CUDA graphs (stream capture, instantiate, launch). Handles are {@code long}s. */
public final class CuStream {
    private CuStream() {}

    /** cuStreamCreate flag: no implicit synchronisation with the legacy default stream. */
    public static final int STREAM_NON_BLOCKING = 1;
    /** CUstreamCaptureMode values. */
    public static final int CAPTURE_GLOBAL = 0, CAPTURE_THREAD_LOCAL = 1, CAPTURE_RELAXED = 2;

    private static final class H {
        static final Binder B = new Binder(CudaLibraries.driver());
        static final MethodHandle cuStreamCreate = B.fn("cuStreamCreate", PTR, INT);
        static final MethodHandle cuStreamSynchronize = B.fn("cuStreamSynchronize", LONG);
        static final MethodHandle cuStreamDestroy = B.fn("cuStreamDestroy_v2", LONG);
        static final MethodHandle cuEventCreate = B.fn("cuEventCreate", PTR, INT);
        static final MethodHandle cuEventRecord = B.critical("cuEventRecord", LONG, LONG);
        static final MethodHandle cuEventSynchronize = B.fn("cuEventSynchronize", LONG);
        static final MethodHandle cuEventElapsedTime =
                B.firstOf(new String[] {"cuEventElapsedTime_v2", "cuEventElapsedTime"}, PTR, LONG, LONG);
        static final MethodHandle cuEventDestroy = B.fn("cuEventDestroy_v2", LONG);
        static final MethodHandle cuStreamBeginCapture = B.fn("cuStreamBeginCapture_v2", LONG, INT);
        static final MethodHandle cuStreamEndCapture = B.fn("cuStreamEndCapture", LONG, PTR);
        static final MethodHandle cuGraphInstantiateWithFlags = B.fn("cuGraphInstantiateWithFlags", PTR, LONG, LONG);
        static final MethodHandle cuGraphLaunch = B.critical("cuGraphLaunch", LONG, LONG);
        static final MethodHandle cuGraphExecDestroy = B.fn("cuGraphExecDestroy", LONG);
        static final MethodHandle cuGraphDestroy = B.fn("cuGraphDestroy", LONG);
    }

    public static long create(int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(LONG);
            int r;
            try { r = (int) H.cuStreamCreate.invokeExact(out, flags); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cuStreamCreate(" + flags + ")");
            return out.get(LONG, 0);
        }
    }

    public static void synchronize(long stream) {
        int r;
        try { r = (int) H.cuStreamSynchronize.invokeExact(stream); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuStreamSynchronize");
    }

    public static void destroy(long stream) {
        int r;
        try { r = (int) H.cuStreamDestroy.invokeExact(stream); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuStreamDestroy_v2");
    }

    /** A CUevent with timing (flags 0). */
    public static long eventCreate() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(LONG);
            int r;
            try { r = (int) H.cuEventCreate.invokeExact(out, 0); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cuEventCreate");
            return out.get(LONG, 0);
        }
    }

    public static void eventRecord(long event, long stream) {
        int r;
        try { r = (int) H.cuEventRecord.invokeExact(event, stream); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuEventRecord");
    }

    public static void eventSynchronize(long event) {
        int r;
        try { r = (int) H.cuEventSynchronize.invokeExact(event); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuEventSynchronize");
    }

    /** Milliseconds between two recorded, completed events (about 0.5 µs resolution). */
    public static float elapsedMillis(long start, long end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(FLOAT);
            int r;
            try { r = (int) H.cuEventElapsedTime.invokeExact(out, start, end); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cuEventElapsedTime");
            return out.get(FLOAT, 0);
        }
    }

    public static void eventDestroy(long event) {
        int r;
        try { r = (int) H.cuEventDestroy.invokeExact(event); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuEventDestroy_v2");
    }

    public static void beginCapture(long stream, int mode) {
        int r;
        try { r = (int) H.cuStreamBeginCapture.invokeExact(stream, mode); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuStreamBeginCapture_v2(mode " + mode + ")");
    }

    /** Ends capture and returns the CUgraph; fails if anything in the capture was invalid. */
    public static long endCapture(long stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(LONG);
            int r;
            try { r = (int) H.cuStreamEndCapture.invokeExact(stream, out); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cuStreamEndCapture");
            return out.get(LONG, 0);
        }
    }

    public static long graphInstantiate(long graph, long flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(LONG);
            int r;
            try { r = (int) H.cuGraphInstantiateWithFlags.invokeExact(out, graph, flags); } catch (Throwable t) { throw rethrow(t); }
            check(r, "cuGraphInstantiateWithFlags");
            return out.get(LONG, 0);
        }
    }

    public static void graphLaunch(long graphExec, long stream) {
        int r;
        try { r = (int) H.cuGraphLaunch.invokeExact(graphExec, stream); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuGraphLaunch");
    }

    public static void graphExecDestroy(long graphExec) {
        int r;
        try { r = (int) H.cuGraphExecDestroy.invokeExact(graphExec); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuGraphExecDestroy");
    }

    public static void graphDestroy(long graph) {
        int r;
        try { r = (int) H.cuGraphDestroy.invokeExact(graph); } catch (Throwable t) { throw rethrow(t); }
        check(r, "cuGraphDestroy");
    }
}
