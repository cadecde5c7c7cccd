// A kernel of the emulation library only (never in the PTX): it reads a neighbour's shared-memory write WITHOUT a
// barrier, the bug TAV_EMU_SCHEDULE=reverse exists to expose. Thread t writes slot t, then reads slot t+1 (the last
// thread reads slot 0). Between barriers the emulation runs whole threads one after another, so with the default
// schedule (first to last) every thread but the last reads an unwritten slot (0), and with the reverse schedule every
// thread but the first reads its neighbour's value. EmulationScheduleTest checks that the result follows the schedule.

extern "C" __global__ void emu_schedule_probe(int* out) {
    __shared__ int slot[64];
    const int t = threadIdx.x, n = blockDim.x;
    slot[t] = 0;
    __syncthreads();
    slot[t] = t + 1;
    out[t] = slot[(t + 1) % n];  // no __syncthreads() before this read: a race
}
TAV_EXPORT(emu_schedule_probe)
