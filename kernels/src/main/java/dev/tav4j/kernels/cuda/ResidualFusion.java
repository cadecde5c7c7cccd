package dev.tav4j.kernels.cuda;

import java.util.Locale;

/**
 * The A/B switch of the fused residual adds on the cuda backend ({@link CudaOps#fuseResiduals}): on by default;
 * {@code -Dtav.cuda.fuseResiduals=false} or {@code TAV_CUDA_FUSE_RESIDUALS=0} runs the unfused sequence (op, then
 * a separate axpby pass) so a profile can show what the fusion saves.
 */
final class ResidualFusion {
    static final String PROPERTY = "tav.cuda.fuseResiduals";
    static final String ENV = "TAV_CUDA_FUSE_RESIDUALS";

    private ResidualFusion() {}

    static boolean enabledByDefault() {
        String v = System.getProperty(PROPERTY);
        if (v == null) v = System.getenv(ENV);
        if (v == null) return true;
        return switch (v.strip().toLowerCase(Locale.ROOT)) {
            case "false", "0", "off", "no" -> false;
            default -> true;
        };
    }
}
