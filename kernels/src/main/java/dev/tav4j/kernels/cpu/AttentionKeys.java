package dev.tav4j.kernels.cpu;

import dev.tav4j.runtime.AttentionKind;

/** Which key/value images a query image reads, for every non-temporal attention kind (forward and backward). */
final class AttentionKeys {
    private AttentionKeys() {}

    /** The first (or only) key image of query image {@code img}: frame 0 of its video for sparse-causal attention. */
    static int first(AttentionKind kind, int img, int frames) {
        return switch (kind) {
            case SPARSE_CAUSAL -> img - img % frames;
            case CROSS -> img / frames;
            default -> img;
        };
    }

    /**
     * The second key image (frame f − 1 for sparse-causal attention), or −1 when there is none. Frames 0 and 1 have
     * none: their second image, max(f − 1, 0), would be frame 0 again, and attending over every key and value twice
     * halves each weight and gives the same output as over one copy, at twice the work.
     */
    static int second(AttentionKind kind, int img, int frames) {
        if (kind != AttentionKind.SPARSE_CAUSAL) return -1;
        int f = img % frames;
        return f <= 1 ? -1 : img - 1;
    }
}
