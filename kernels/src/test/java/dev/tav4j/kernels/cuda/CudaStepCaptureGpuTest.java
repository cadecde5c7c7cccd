package dev.tav4j.kernels.cuda;

import dev.tav4j.runtime.cuda.CudaDeviceApi;
import dev.tav4j.runtime.device.DevicePool;
import org.junit.jupiter.api.Tag;

/**
 * {@link CudaStepCaptureTest} on a real GPU: stream capture into a CUDA graph, replays bit-identical to the eager
 * launches with new inputs each time, the pool's reservation, and the refusals (a cuStreamSynchronize or a copy
 * inside a capture is refused before the driver sees it, so the stream leaves capture mode cleanly).
 */
@Tag("gpu")
class CudaStepCaptureGpuTest extends CudaStepCaptureTest {
    @Override CudaOps ops() { return RealGpu.ops(); }

    @Override DevicePool pool() { return ((CudaDeviceApi) ops().device()).pool(); }
}
