/** Panama (FFM) bindings to the CUDA Driver API and cuBLAS; loads the libraries only when a CUDA backend is asked for. */
module dev.tav4j.bindings {
    exports dev.tav4j.bindings.cuda;
}
