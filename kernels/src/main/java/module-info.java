/**
 * The ops: the CPU implementation (the Vector API, incubating in JDK 25) and the CUDA kernels' Java side with their PTX.
 * On the module path this descriptor brings jdk.incubator.vector in, so no --add-modules is needed there. On the class
 * path without --add-modules jdk.incubator.vector the cpu backend runs scalar twins of its kernels (one warning).
 */
module dev.tav4j.kernels {
    requires transitive dev.tav4j.runtime;
    requires jdk.incubator.vector;

    exports dev.tav4j.kernels.cpu;
    exports dev.tav4j.kernels.cuda;
    // the PTX (tav4j.ptx.gz), which the runtime module's CUDA device reads as a resource by name
    opens dev.tav4j.kernels;

    provides dev.tav4j.runtime.BackendProvider with dev.tav4j.kernels.cpu.CpuBackendProvider, dev.tav4j.kernels.cuda.CudaBackendProvider;
    provides dev.tav4j.runtime.device.DeviceOpsFactory with dev.tav4j.kernels.cuda.CudaOpsFactory;
}
