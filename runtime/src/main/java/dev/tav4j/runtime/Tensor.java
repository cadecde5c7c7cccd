package dev.tav4j.runtime;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A dense row-major tensor. Storage is host memory ({@link HostStorage}) or device memory; views share their
 * parent's storage and never release it. Image tensors inside the engine are channels-last: [N, H, W, C] with
 * N = batch × frames.
 */
public final class Tensor implements AutoCloseable {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final int[] shape;
    private final long size;
    private final DType dtype;
    private Storage storage;
    private long byteOffset;
    private boolean owner;

    public Tensor(Storage storage, long byteOffset, DType dtype, boolean owner, int... shape) {
        this.shape = shape.clone();
        this.size = checkedSize(this.shape);
        this.dtype = dtype;
        this.storage = storage;
        this.byteOffset = byteOffset;
        this.owner = owner;
        if (byteOffset + size * dtype.bytes() > storage.byteSize())
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " does not fit its storage");
    }

    /** A new host F32 tensor; contents unspecified. */
    public static Tensor host(int... shape) {
        long n = checkedSize(shape);
        return new Tensor(new HostStorage(HostMemoryPool.GLOBAL.take(n * 4)), 0, DType.F32, true, shape);
    }

    /** A new host F32 tensor filled with zeros. */
    public static Tensor zeros(int... shape) {
        Tensor t = host(shape);
        t.segment().fill((byte) 0);
        return t;
    }

    /** A new host F32 tensor holding a copy of {@code values}. */
    public static Tensor of(float[] values, int... shape) {
        Tensor t = host(shape);
        if (t.size != values.length)
            throw new IllegalArgumentException(values.length + " values for shape " + Arrays.toString(shape));
        MemorySegment.copy(values, 0, t.segment(), F32, 0, values.length);
        return t;
    }

    /** Elements of a tensor of {@code shape} (throws on negative dimensions or overflow). */
    public static long checkedSize(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public int[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    public int dim(int i) { return shape[i < 0 ? shape.length + i : i]; }

    public long size() { return size; }

    public DType dtype() { return dtype; }

    public Storage storage() { return storage; }

    public Device device() { return storage.device(); }

    public long byteOffset() { return byteOffset; }

    public boolean isHost() { return storage.device() == Device.HOST; }

    /** Whether this tensor's memory refuses writes (a weight viewed in place in its read-only mapped file). */
    public boolean isReadOnly() { return storage instanceof HostStorage hs && hs.isReadOnly(); }

    /**
     * Gives a read-only owning tensor (a weight viewed in its mapped file) a writable copy of its own, in place, so
     * whatever holds this object (the layer that reads the weight) sees the copy: a tuning job about to update a
     * parameter loaded without being marked trainable. Views taken earlier keep the old memory. No-op otherwise.
     */
    public void makeWritable() {
        if (!isReadOnly()) return;
        if (!owner) throw new IllegalStateException("a view of a read-only tensor cannot be made writable; make its owner writable");
        HostStorage copy = new HostStorage(HostMemoryPool.GLOBAL.take(size * dtype.bytes()));
        MemorySegment.copy(segment(), 0, copy.segment(), 0, size * dtype.bytes());
        storage.release();
        storage = copy;
        byteOffset = 0;
    }

    /** The host memory of this tensor's elements (throws for device tensors). */
    public MemorySegment segment() {
        if (!(storage instanceof HostStorage hs))
            throw new IllegalStateException("tensor " + Arrays.toString(shape) + " lives on " + device() + ", not the host");
        return hs.segment().asSlice(byteOffset, size * dtype.bytes());
    }

    /** Product of the dimensions from {@code from} (inclusive) to the end. */
    public long sizeFrom(int from) {
        long n = 1;
        for (int i = from; i < shape.length; i++) n *= shape[i];
        return n;
    }

    /** A view with another shape of the same element count. */
    public Tensor reshape(int... newShape) {
        int infer = -1;
        long known = 1;
        int[] s = newShape.clone();
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) { if (infer >= 0) throw new IllegalArgumentException("two -1 in reshape"); infer = i; }
            else known *= s[i];
        }
        if (infer >= 0) s[infer] = (int) (size / Math.max(known, 1));
        if (checkedSize(s) != size)
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " to " + Arrays.toString(newShape));
        return new Tensor(storage, byteOffset, dtype, false, s);
    }

    /**
     * The same storage under another shape, taking over ownership: closing the result releases the storage,
     * closing this tensor afterwards does nothing. Use it to reshape a freshly computed result.
     */
    public Tensor reshapeOwned(int... newShape) {
        Tensor t = reshape(newShape);
        t.owner = owner;
        owner = false;
        return t;
    }

    /** A view of rows [start, start+count) of the first dimension. */
    public Tensor slice(int start, int count) {
        if (start < 0 || count < 0 || start + count > shape[0])
            throw new IndexOutOfBoundsException("slice " + start + "+" + count + " of dimension " + shape[0]);
        int[] s = shape.clone();
        s[0] = count;
        long rowBytes = sizeFrom(1) * dtype.bytes();
        return new Tensor(storage, byteOffset + start * rowBytes, dtype, false, s);
    }

    public float get(long i) { return segment().getAtIndex(F32, i); }

    public void set(long i, float v) { segment().setAtIndex(F32, i, v); }

    /** A heap copy of the elements (host F32 only). */
    public float[] toArray() {
        float[] a = new float[Math.toIntExact(size)];
        MemorySegment.copy(segment(), F32, 0, a, 0, a.length);
        return a;
    }

    /** Copies {@code src}'s elements into this tensor (host, same element count). */
    public Tensor copyFrom(Tensor src) {
        if (src.size != size) throw new IllegalArgumentException("copy of " + src.size + " elements into " + size);
        MemorySegment.copy(src.segment(), 0, segment(), 0, size * dtype.bytes());
        return this;
    }

    public Tensor fill(float v) {
        MemorySegment s = segment();
        for (long i = 0; i < size; i++) s.setAtIndex(F32, i, v);
        return this;
    }

    /** Releases the storage if this tensor owns it; views do nothing. */
    @Override public void close() {
        if (owner) storage.release();
    }

    /** Throws unless this tensor has exactly {@code expected} as its shape; {@code what} names it in the message. */
    public Tensor requireShape(String what, int... expected) {
        if (!Arrays.equals(shape, expected))
            throw new IllegalArgumentException(what + ": expected shape " + Arrays.toString(expected) + ", got " + Arrays.toString(shape));
        return this;
    }

    @Override public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype + " on " + device();
    }
}
