// Kernels for tav4j's GPU tests of the driver bindings (not product kernels).
// Rebuild: nvcc -ptx -arch=compute_80 -o test_kernels.ptx test_kernels.cu
extern "C" __global__ void tav_test_axpb(float* x, float a, float b, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = a * x[i] + b;
}

// One block reverses n floats through dynamic shared memory (n * 4 bytes of it; above 48 KiB needs the opt-in).
extern "C" __global__ void tav_test_reverse_smem(const float* in, float* out, int n) {
    extern __shared__ float s[];
    for (int i = threadIdx.x; i < n; i += blockDim.x) s[i] = in[i];
    __syncthreads();
    for (int i = threadIdx.x; i < n; i += blockDim.x) out[i] = s[n - 1 - i];
}
