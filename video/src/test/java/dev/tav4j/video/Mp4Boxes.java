package dev.tav4j.video;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An independent look into an MP4's boxes (no FFmpeg): the first video track's sample count (stsz) and
 * duration in seconds (mdhd), to check the decoder's frame count and frame rate against.
 */
record Mp4Boxes(int videoSamples, double videoSeconds, String sampleEntry) {
    static Mp4Boxes read(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
        int[] moov = find(b, 0, b.limit(), "moov");
        for (int at = moov[0]; at < moov[1]; ) {
            int size = b.getInt(at);
            if (type(b, at).equals("trak")) {
                int[] mdia = find(b, at + 8, at + size, "mdia");
                int[] hdlr = find(b, mdia[0], mdia[1], "hdlr");
                if (type(b, hdlr[0] + 4).equals("vide")) {
                    int[] mdhd = find(b, mdia[0], mdia[1], "mdhd");
                    boolean v1 = b.get(mdhd[0]) == 1;
                    long scale = Integer.toUnsignedLong(b.getInt(mdhd[0] + (v1 ? 20 : 12)));
                    long duration = v1 ? b.getLong(mdhd[0] + 24) : Integer.toUnsignedLong(b.getInt(mdhd[0] + 16));
                    int[] stbl = find(b, find(b, mdia[0], mdia[1], "minf")[0], mdia[1], "stbl");
                    int[] stsz = find(b, stbl[0], stbl[1], "stsz");
                    int[] stsd = find(b, stbl[0], stbl[1], "stsd");
                    return new Mp4Boxes(b.getInt(stsz[0] + 8), (double) duration / scale, type(b, stsd[0] + 8));
                }
            }
            at += size;
        }
        throw new IOException("no video track in " + file);
    }

    /** [content start, end] of the first box of {@code type} among the boxes in [from, to). */
    private static int[] find(ByteBuffer b, int from, int to, String type) throws IOException {
        for (int at = from; at + 8 <= to; ) {
            int size = b.getInt(at);
            if (size < 8) throw new IOException("bad box size " + size + " at " + at);
            if (type(b, at).equals(type)) return new int[]{at + 8, at + size};
            at += size;
        }
        throw new IOException("no " + type + " box");
    }

    private static String type(ByteBuffer b, int boxStart) {
        byte[] t = new byte[4];
        b.get(boxStart + 4, t);
        return new String(t, java.nio.charset.StandardCharsets.US_ASCII);
    }
}
