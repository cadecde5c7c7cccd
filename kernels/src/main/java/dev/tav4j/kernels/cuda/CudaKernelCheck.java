package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.DType;
import dev.tav4j.runtime.KernelCheck;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@link KernelCheck} of a {@link CudaOps}: the GPU {@link SelfCheck}, behind the backend-neutral interface. */
final class CudaKernelCheck implements KernelCheck {
    private final CudaOps ops;

    CudaKernelCheck(CudaOps ops) {
        this.ops = ops;
    }

    @Override public Report check(DType precision, Path cacheDir, boolean recheck) {
        if (recheck) {
            try {
                Files.deleteIfExists(cacheFile(precision, cacheDir));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return SelfCheck.cached(ops, precision, cacheDir);
    }

    @Override public Path cacheFile(DType precision, Path cacheDir) {
        return SelfCheck.cacheFile(ops, precision, cacheDir);
    }

    @Override public List<String> apply(Report report) {
        if (!(report instanceof SelfCheck.Report r))
            throw new IllegalArgumentException("not a report of the cuda self-check: " + report);
        return SelfCheck.apply(ops, r);
    }
}
