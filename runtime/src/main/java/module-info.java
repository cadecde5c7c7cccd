/**
 * Tensors over memory segments, memory pools, the op interface and backend selection. Backends are found with
 * ServiceLoader: the kernels module provides "cpu" and "cuda".
 */
module dev.tav4j.runtime {
    requires transitive dev.tav4j.bindings;
    requires java.logging;
    requires java.management;
    requires jdk.management;

    exports dev.tav4j.runtime;
    exports dev.tav4j.runtime.autograd;
    exports dev.tav4j.runtime.cuda;
    exports dev.tav4j.runtime.device;

    uses dev.tav4j.runtime.BackendProvider;
    uses dev.tav4j.runtime.device.DeviceOpsFactory;
}
