// Host emulation of the CUDA C++ subset the tav4j kernels use, so the same .cu sources compile with
//   g++ -x c++ -O2 -std=c++20 -include cuda_emu.h -shared -fPIC
// into a library whose tav_emu_<kernel> entries run a grid on the CPU.
//
// Model: the blocks of a grid are shared out to a few OS worker threads; inside a worker, the threads of one
// block are ucontext fibers scheduled round-robin. A fiber only gives up the CPU at a barrier
// (__syncthreads, or the warp barrier inside a shuffle/vote), so everything between barriers runs exactly as
// one CUDA thread would. Consequences that kernels must respect (they also hold on a GPU):
//  - __shared__ variables are `static thread_local`: one copy per worker OS thread, i.e. per running block.
//  - shuffles and votes assume every live lane of the warp takes part (the mask is not interpreted).
//  - a barrier that not every live thread reaches is reported as a deadlock (launch returns an error).
//  - fibers run first to last between barriers, or last to first with TAV_EMU_SCHEDULE=reverse (race checks).
//  - WMMA (nvcuda::wmma, at the end of this file): every lane holds the whole tile; see the note there.
#pragma once
#define TAV_EMU 1

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <cmath>
#include <math.h>  // the C float functions (expf, erff, ...) at global scope, as CUDA has them
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>
#include <ucontext.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __shared__ static thread_local
#define __align__(n) __attribute__((aligned(n)))

struct uint3 { unsigned x, y, z; };
struct alignas(16) uint4 { unsigned x, y, z, w; };
struct dim3 { unsigned x = 1, y = 1, z = 1; };

namespace tav_emu {
inline thread_local uint3 t_threadIdx;
inline thread_local dim3 t_blockIdx, t_blockDim, t_gridDim;
inline thread_local unsigned char* t_dynSmem;  // the block's dynamic shared memory
}
#define threadIdx (::tav_emu::t_threadIdx)
#define blockIdx (::tav_emu::t_blockIdx)
#define blockDim (::tav_emu::t_blockDim)
#define gridDim (::tav_emu::t_gridDim)
#define warpSize 32

// Dynamic shared memory: kernels write TAV_DYNAMIC_SMEM(float, smem); (see common.cuh for the nvcc side).
#define TAV_DYNAMIC_SMEM(T, name) T* name = reinterpret_cast<T*>(::tav_emu::t_dynSmem)

namespace tav_emu {

// Switching fibers. glibc's swapcontext saves and restores the signal mask with a system call on every switch, which
// made half of an emulated kernel's time kernel-mode (threads switch at every barrier). On x86-64 a fiber switch is
// instead the System V callee-saved registers, the stack pointer and the FP control words (MXCSR, x87 CW); elsewhere
// it stays ucontext.
#if defined(__x86_64__)
#define TAV_EMU_FAST_SWITCH 1
// Saves the current context on its stack, stores that stack pointer in *save, and resumes the one saved at load.
__attribute__((naked, noinline)) static void switch_stack(void** /*save: rdi*/, void* /*load: rsi*/) {
    asm volatile(
        "pushq %rbp\n\t"
        "pushq %rbx\n\t"
        "pushq %r12\n\t"
        "pushq %r13\n\t"
        "pushq %r14\n\t"
        "pushq %r15\n\t"
        "subq $8, %rsp\n\t"
        "stmxcsr (%rsp)\n\t"
        "fnstcw 4(%rsp)\n\t"
        "movq %rsp, (%rdi)\n\t"
        "movq %rsi, %rsp\n\t"
        "ldmxcsr (%rsp)\n\t"
        "fldcw 4(%rsp)\n\t"
        "addq $8, %rsp\n\t"
        "popq %r15\n\t"
        "popq %r14\n\t"
        "popq %r13\n\t"
        "popq %r12\n\t"
        "popq %rbx\n\t"
        "popq %rbp\n\t"
        "ret\n\t");
}
#endif

constexpr size_t kStackBytes = 96 * 1024;
constexpr int kMaxThreads = 1024;

struct Barrier {
    int arrived = 0;
    int expected = 0;
    unsigned gen = 0;
};

struct Fiber {
#ifdef TAV_EMU_FAST_SWITCH
    void* sp = nullptr;  // the saved stack pointer while the fiber is switched out
#else
    ucontext_t ctx;
#endif
    uint3 tid;
    int linear = 0;
    bool done = false;
    unsigned mmaSeq = 0;  // WMMA calls since this thread's last barrier (index into its warp's mmaLog)
};

// One block's threads on one OS thread.
struct BlockRunner {
    std::unique_ptr<char[]> stacks;
    std::vector<Fiber> fibers;
#ifdef TAV_EMU_FAST_SWITCH
    void* schedSp = nullptr;
#else
    ucontext_t sched;
#endif
    Barrier block;
    std::vector<Barrier> warps;
    std::vector<uint64_t> exchange;  // one slot per thread for shuffles and votes
    std::vector<unsigned char> dynSmem;
    std::vector<std::vector<float>> mmaLog;  // per warp: inputs and result of each mma_sync since the last barrier
    void (*body)(void*) = nullptr;
    void* arg = nullptr;
    int current = 0;
    int nthreads = 0;
    bool deadlock = false;
};

inline thread_local BlockRunner* t_runner;

inline void yield_to_scheduler() {
    BlockRunner* r = t_runner;
#ifdef TAV_EMU_FAST_SWITCH
    switch_stack(&r->fibers[r->current].sp, r->schedSp);
#else
    swapcontext(&r->fibers[r->current].ctx, &r->sched);
#endif
}

inline void release_if_complete(Barrier& b) {
    if (b.arrived > 0 && b.arrived == b.expected) { b.arrived = 0; b.gen++; }
}

inline void wait(Barrier& b) {
    t_runner->fibers[t_runner->current].mmaSeq = 0;
    unsigned g = b.gen;
    if (++b.arrived == b.expected) { b.arrived = 0; b.gen++; return; }
    while (b.gen == g) {
        yield_to_scheduler();
        if (t_runner->deadlock) return;
    }
}

inline void fiber_entry() {
    BlockRunner* r = t_runner;
    r->body(r->arg);
    Fiber& f = r->fibers[r->current];
    f.done = true;
    // An exited thread no longer takes part in barriers (as on sm_70+).
    r->block.expected--;
    release_if_complete(r->block);
    Barrier& w = r->warps[f.linear / 32];
    w.expected--;
    release_if_complete(w);
}  // ucontext: returns through uc_link to the scheduler

#ifdef TAV_EMU_FAST_SWITCH
// The first frame of a fast-switch fiber: runs the thread, then hands control back for good.
[[noreturn]] inline void fiber_start() {
    fiber_entry();
    BlockRunner* r = t_runner;
    switch_stack(&r->fibers[r->current].sp, r->schedSp);
    __builtin_unreachable();
}

// A fresh stack that switch_stack resumes into fiber_start: the saved FP control words and six zeroed registers,
// then fiber_start as the return address, placed so that fiber_start begins with the ABI's alignment (rsp ≡ 8 mod 16).
inline void* fresh_stack(char* base, size_t bytes) {
    uintptr_t top = (reinterpret_cast<uintptr_t>(base) + bytes) & ~uintptr_t(15);
    auto* slot = reinterpret_cast<uint64_t*>(top - 16);  // 16-aligned: fiber_start's return address
    slot[1] = 0;                                          // (a fake caller frame, never returned to)
    slot[0] = reinterpret_cast<uint64_t>(&fiber_start);
    uint64_t* regs = slot - 6;                            // r15 r14 r13 r12 rbx rbp
    for (int i = 0; i < 6; i++) regs[i] = 0;
    uint64_t* fp = regs - 1;                              // MXCSR (low 4 bytes), x87 control word (next 2)
    uint32_t mxcsr;
    uint16_t fpcw;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(fpcw));
    *fp = uint64_t(mxcsr) | (uint64_t(fpcw) << 32);
    return fp;
}
#endif

// TAV_EMU_SCHEDULE=reverse runs the fibers of a block from the last thread to the first between barriers (default:
// first to last). A kernel that reads another thread's shared or global write without a barrier in between gets the
// write in one order and misses it in the other, so running the tests both ways exposes a missing barrier whichever
// thread writes first; on a GPU such a race shows up at random.
inline bool reverse_schedule() {
    static const bool reverse = [] {
        const char* e = std::getenv("TAV_EMU_SCHEDULE");
        return e != nullptr && std::strcmp(e, "reverse") == 0;
    }();
    return reverse;
}

// Runs one block; false on deadlock.
inline bool run_block(BlockRunner& r, dim3 block, void (*body)(void*), void* arg) {
    int n = int(block.x * block.y * block.z);
    if (r.nthreads != n) {
        r.stacks.reset(new char[size_t(n) * kStackBytes]);
        r.fibers.assign(n, Fiber{});
        r.exchange.assign(n, 0);
        r.nthreads = n;
    }
    r.body = body;
    r.arg = arg;
    r.deadlock = false;
    r.block = Barrier{0, n, 0};
    int nw = (n + 31) / 32;
    r.warps.assign(nw, Barrier{});
    if (int(r.mmaLog.size()) < nw) r.mmaLog.resize(nw);
    for (int w = 0; w < nw; w++) r.warps[w].expected = std::min(32, n - w * 32);
    for (int i = 0; i < n; i++) {
        Fiber& f = r.fibers[i];
        f.linear = i;
        f.done = false;
        f.mmaSeq = 0;
        f.tid = uint3{unsigned(i % block.x), unsigned((i / block.x) % block.y), unsigned(i / (block.x * block.y))};
#ifdef TAV_EMU_FAST_SWITCH
        f.sp = fresh_stack(r.stacks.get() + size_t(i) * kStackBytes, kStackBytes);
#else
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = r.stacks.get() + size_t(i) * kStackBytes;
        f.ctx.uc_stack.ss_size = kStackBytes;
        f.ctx.uc_link = &r.sched;
        makecontext(&f.ctx, fiber_entry, 0);
#endif
    }
    t_runner = &r;
    int live = n;
    while (live > 0) {
        unsigned before = r.block.gen;
        std::vector<unsigned> wgen(nw);
        for (int w = 0; w < nw; w++) wgen[w] = r.warps[w].gen;
        int finished = 0;
        const bool reverse = reverse_schedule();
        for (int k = 0; k < n; k++) {
            int i = reverse ? n - 1 - k : k;
            Fiber& f = r.fibers[i];
            if (f.done) continue;
            r.current = i;
            t_threadIdx = f.tid;
#ifdef TAV_EMU_FAST_SWITCH
            switch_stack(&r.schedSp, f.sp);
#else
            swapcontext(&r.sched, &f.ctx);
#endif
            if (f.done) finished++;
        }
        live -= finished;
        bool progress = finished > 0 || r.block.gen != before;
        for (int w = 0; w < nw && !progress; w++) progress = r.warps[w].gen != wgen[w];
        if (!progress && live > 0) {
            r.deadlock = true;  // fibers are abandoned; their stacks are re-initialised next launch
            r.nthreads = 0;
            return false;
        }
    }
    return true;
}

// A persistent pool of worker OS threads (created once): the caller runs blocks too.
struct Pool {
    std::vector<std::thread> threads;
    std::mutex m;
    std::condition_variable wake, idle;
    std::function<void()> job;
    unsigned epoch = 0;
    int busy = 0;

    explicit Pool(int n) {
        for (int i = 0; i < n; i++) threads.emplace_back([this] { loop(); });
    }
    void loop() {
        unsigned seen = 0;
        for (;;) {
            std::function<void()> j;
            {
                std::unique_lock<std::mutex> l(m);
                wake.wait(l, [&] { return epoch != seen; });
                seen = epoch;
                j = job;
            }
            j();
            std::lock_guard<std::mutex> l(m);
            if (--busy == 0) idle.notify_all();
        }
    }
    void run(const std::function<void()>& j) {
        {
            std::lock_guard<std::mutex> l(m);
            job = j;
            busy = int(threads.size());
            epoch++;
        }
        wake.notify_all();
        j();
        std::unique_lock<std::mutex> l(m);
        idle.wait(l, [&] { return busy == 0; });
    }
    static Pool& get() {
        // TAV_EMU_THREADS caps the OS threads (the caller included); default: all cores, at most 8.
        static Pool* p = [] {
            int hw = int(std::max(1u, std::thread::hardware_concurrency()));
            const char* e = std::getenv("TAV_EMU_THREADS");
            int n = e ? std::max(1, std::atoi(e)) : std::min(hw, 8);
            return new Pool(n - 1);  // never destroyed: workers live as long as the process
        }();
        return *p;
    }
};

inline std::mutex& launch_lock() { static std::mutex m; return m; }

// Runs a whole grid: blocks are shared out to the caller and the pool's workers.
inline int run_grid(dim3 grid, dim3 block, int smem, void (*body)(void*), void* arg) {
    long nblocks = long(grid.x) * grid.y * grid.z;
    long nthreads = long(block.x) * block.y * block.z;
    if (nblocks <= 0 || nthreads <= 0) return 0;
    if (nthreads > kMaxThreads) return 2;
    std::atomic<long> next{0};
    std::atomic<int> status{0};
    std::function<void()> work = [&] {
        thread_local BlockRunner runner;
        // 128-byte aligned, like a GPU's shared memory window (WMMA needs 32-byte aligned tile pointers)
        if (runner.dynSmem.size() < size_t(smem) + 128) runner.dynSmem.resize(size_t(smem) + 128);
        t_dynSmem = runner.dynSmem.data() + (128 - reinterpret_cast<uintptr_t>(runner.dynSmem.data()) % 128) % 128;
        t_gridDim = grid;
        t_blockDim = block;
        for (long b; (b = next.fetch_add(1)) < nblocks && status.load() == 0;) {
            t_blockIdx = dim3{unsigned(b % grid.x), unsigned((b / grid.x) % grid.y), unsigned(b / (long(grid.x) * grid.y))};
            if (!run_block(runner, block, body, arg)) status = 1;
        }
    };
    std::lock_guard<std::mutex> l(launch_lock());  // launches are ordered, as on one stream
    Pool& pool = Pool::get();
    if (nblocks == 1 || pool.threads.empty()) work();
    else pool.run(work);
    return status.load();
}

template <typename... A, size_t... I>
void call_with(void (*k)(A...), void** params, std::index_sequence<I...>) {
    k(*static_cast<std::remove_reference_t<A>*>(params[I])...);
}

// Entry used by TAV_EXPORT: unpacks a cuLaunchKernel-style parameter array and runs the grid.
template <typename... A>
int launch(void (*k)(A...), int gx, int gy, int gz, int bx, int by, int bz, int smem, void** params) {
    struct Call { void (*k)(A...); void** params; };
    Call c{k, params};
    auto body = [](void* p) {
        Call* c = static_cast<Call*>(p);
        call_with(c->k, c->params, std::index_sequence_for<A...>{});
    };
    return run_grid(dim3{unsigned(gx), unsigned(gy), unsigned(gz)}, dim3{unsigned(bx), unsigned(by), unsigned(bz)},
                    smem, body, &c);
}

// ---- warp exchange: every live lane writes, waits for the warp, reads, waits again ----
template <typename T>
T exchange(T v, int srcLaneAbs) {
    static_assert(sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
    BlockRunner* r = t_runner;
    int me = r->current;
    Barrier& w = r->warps[me / 32];
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    r->exchange[me] = bits;
    wait(w);
    int src = (me / 32) * 32 + srcLaneAbs;
    uint64_t got = (src < r->nthreads && !r->fibers[src].done) ? r->exchange[src] : bits;
    wait(w);
    T out;
    std::memcpy(&out, &got, sizeof(T));
    return out;
}

inline int lane_id() { return t_runner->current % 32; }

}  // namespace tav_emu

inline void __syncthreads() { ::tav_emu::wait(::tav_emu::t_runner->block); }
inline void __syncwarp(unsigned = 0xffffffffu) {
    ::tav_emu::wait(::tav_emu::t_runner->warps[::tav_emu::t_runner->current / 32]);
}

template <typename T> T __shfl_sync(unsigned, T v, int src, int width = 32) {
    int lane = ::tav_emu::lane_id();
    return ::tav_emu::exchange(v, (lane / width) * width + ((src % width + width) % width));
}
template <typename T> T __shfl_xor_sync(unsigned, T v, int m, int width = 32) {
    int lane = ::tav_emu::lane_id();
    int src = lane ^ m;
    if (src / width != lane / width) src = lane;
    return ::tav_emu::exchange(v, src);
}
template <typename T> T __shfl_down_sync(unsigned, T v, unsigned d, int width = 32) {
    int lane = ::tav_emu::lane_id();
    int src = lane + int(d);
    if (src / width != lane / width) src = lane;
    return ::tav_emu::exchange(v, src);
}
template <typename T> T __shfl_up_sync(unsigned, T v, unsigned d, int width = 32) {
    int lane = ::tav_emu::lane_id();
    int src = lane - int(d);
    if (src < 0 || src / width != lane / width) src = lane;
    return ::tav_emu::exchange(v, src);
}

inline unsigned __ballot_sync(unsigned, int pred) {
    unsigned bits = 0;
    int lane = ::tav_emu::lane_id();
    for (int src = 0; src < 32; src++) {
        // the exchange is a warp-wide collective, so every lane runs the same 32 rounds
        int p = ::tav_emu::exchange(pred ? 1 : 0, src);
        if (p) bits |= 1u << src;
    }
    (void)lane;
    return bits;
}
inline int __any_sync(unsigned m, int pred) { return __ballot_sync(m, pred) != 0; }
inline int __all_sync(unsigned m, int pred) {
    unsigned b = __ballot_sync(m, 1), p = __ballot_sync(m, pred);
    return b == p;
}

// ---- atomics (blocks run on several OS threads) ----
template <typename T> T atomicAdd(T* p, T v) { return std::atomic_ref<T>(*p).fetch_add(v); }
inline int atomicMax(int* p, int v) {
    std::atomic_ref<int> a(*p);
    int old = a.load();
    while (old < v && !a.compare_exchange_weak(old, v)) {}
    return old;
}
inline int atomicCAS(int* p, int cmp, int v) {
    std::atomic_ref<int>(*p).compare_exchange_strong(cmp, v);
    return cmp;
}

// ---- math intrinsics ----
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __saturatef(float x) { return std::fmin(std::fmax(x, 0.0f), 1.0f); }
using std::min; using std::max;

// ---- half and bfloat16 storage types (conversions only; arithmetic is done in float) ----
struct __half { uint16_t bits; };
struct __nv_bfloat16 { uint16_t bits; };

inline float __half2float(__half h) {
    uint32_t s = (h.bits & 0x8000u) << 16, e = (h.bits >> 10) & 0x1f, m = h.bits & 0x3ff, f;
    if (e == 0) {
        if (m == 0) f = s;
        else {  // subnormal: normalise
            int sh = 0;
            while (!(m & 0x400)) { m <<= 1; sh++; }
            f = s | uint32_t(113 - sh) << 23 | (m & 0x3ff) << 13;
        }
    } else if (e == 31) f = s | 0x7f800000u | m << 13;
    else f = s | (e + 112) << 23 | m << 13;
    float out;
    std::memcpy(&out, &f, 4);
    return out;
}
inline __half __float2half(float x) {  // round to nearest even
    uint32_t f;
    std::memcpy(&f, &x, 4);
    uint32_t s = (f >> 16) & 0x8000u;
    int e = int((f >> 23) & 0xff) - 127 + 15;
    uint32_t m = f & 0x7fffff;
    if (((f >> 23) & 0xff) == 0xff) return __half{uint16_t(s | 0x7c00u | (m ? 0x200u : 0))};
    if (e >= 31) return __half{uint16_t(s | 0x7c00u)};
    if (e <= 0) {
        if (e < -10) return __half{uint16_t(s)};
        m |= 0x800000;
        int shift = 14 - e;
        uint32_t half = m >> shift, rem = m & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return __half{uint16_t(s | half)};
    }
    uint32_t h = s | uint32_t(e) << 10 | m >> 13, rem = m & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return __half{uint16_t(h)};
}
inline float __bfloat162float(__nv_bfloat16 b) {
    uint32_t f = uint32_t(b.bits) << 16;
    float out;
    std::memcpy(&out, &f, 4);
    return out;
}
inline __nv_bfloat16 __float2bfloat16(float x) {
    uint32_t f;
    std::memcpy(&f, &x, 4);
    if ((f & 0x7fffffffu) > 0x7f800000u) return __nv_bfloat16{uint16_t((f >> 16) | 0x40)};
    f += 0x7fff + ((f >> 16) & 1);
    return __nv_bfloat16{uint16_t(f >> 16)};
}

// Raw 16-bit patterns, as cuda_bf16.h / cuda_fp16.h provide them.
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 b) { return b.bits; }
inline unsigned short __half_as_ushort(__half h) { return h.bits; }

// ---- WMMA (nvcuda::wmma), enough for the tensor-core kernels ----
// Model: a fragment holds the WHOLE tile in every lane (x[] has rows*cols floats, row-major; num_elements is
// that count), so each lane of a warp computes the warp's tile redundantly. load_matrix_sync reads the tile
// (converting half/bf16 to float, exactly), store_matrix_sync writes it, fill_fragment sets every element,
// mma_sync computes d = a*b + c with exact products and fp32 sums in k order (tensor cores add in another order
// and may truncate intermediate sums: differences are fp32 roundoff, far below bf16/half tolerances).
// Not modelled: the per-lane element mapping of frag.x[i] on a GPU (8 of 256 elements per lane, in an
// undocumented order), so kernels may only touch x[i] in element-wise-uniform ways (the same operation on every
// element, e.g. scaling); anything row- or column-dependent must go through store_matrix_sync to shared memory.
// Matrix a/b fragments hold float, not the half/bf16 element type. Alignment (256-bit pointers) and ldm rules
// (a multiple of 8 for 16-bit types, of 4 for float) are checked: a violation aborts with a message, since
// it would fault or read wrongly on a GPU.
// Cost: the lanes of a warp run one after another between barriers, so the first lane's mma_sync results are
// logged per warp (inputs and output) and a later lane whose inputs are bit-identical copies the output; a
// lane whose inputs differ computes its own (results never depend on the log, only the speed does).
namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
    static constexpr int rows = std::is_same_v<Use, matrix_b> ? K : M;
    static constexpr int cols = std::is_same_v<Use, matrix_a> ? K : N;
    static constexpr int num_elements = rows * cols;
    float x[num_elements];
};

namespace detail {
inline float to_float(float v) { return v; }
inline float to_float(__half v) { return __half2float(v); }
inline float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
inline void check(const void* p, unsigned ldm, size_t elem, const char* what) {
    if (reinterpret_cast<uintptr_t>(p) % 32 != 0 || (ldm * elem) % 16 != 0) {
        std::fprintf(stderr, "wmma emulation: %s with a pointer not 256-bit aligned or ldm %u not a multiple of 16 bytes\n", what, ldm);
        std::abort();
    }
}
}  // namespace detail

template <typename Use, int M, int N, int K, typename T, typename Layout>
inline void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f, const T* p, unsigned ldm) {
    static_assert(!std::is_same_v<Use, accumulator>, "accumulator loads take a layout_t");
    using F = fragment<Use, M, N, K, T, Layout>;
    detail::check(p, ldm, sizeof(T), "load_matrix_sync");
    for (int r = 0; r < F::rows; r++)
        for (int c = 0; c < F::cols; c++)
            f.x[r * F::cols + c] = detail::to_float(std::is_same_v<Layout, row_major> ? p[size_t(r) * ldm + c] : p[size_t(c) * ldm + r]);
}

template <int M, int N, int K>
inline void load_matrix_sync(fragment<accumulator, M, N, K, float>& f, const float* p, unsigned ldm, layout_t l) {
    detail::check(p, ldm, 4, "load_matrix_sync");
    for (int r = 0; r < M; r++)
        for (int c = 0; c < N; c++) f.x[r * N + c] = l == mem_row_major ? p[size_t(r) * ldm + c] : p[size_t(c) * ldm + r];
}

template <int M, int N, int K>
inline void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm, layout_t l) {
    detail::check(p, ldm, 4, "store_matrix_sync");
    for (int r = 0; r < M; r++)
        for (int c = 0; c < N; c++) (l == mem_row_major ? p[size_t(r) * ldm + c] : p[size_t(c) * ldm + r]) = f.x[r * N + c];
}

template <typename Use, int M, int N, int K, typename T, typename Layout, typename V>
inline void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, const V& v) {
    float x = detail::to_float(v);
    for (float& e : f.x) e = x;
}

template <int M, int N, int K, typename T, typename LA, typename LB>
inline void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, T, LA>& a,
                     const fragment<matrix_b, M, N, K, T, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
    constexpr size_t na = M * K, nb = K * N, nc = M * N, entry = na + nb + 2 * nc;
    ::tav_emu::BlockRunner* r = ::tav_emu::t_runner;
    std::vector<float>& log = r->mmaLog[r->current / 32];
    size_t off = size_t(r->fibers[r->current].mmaSeq++) * entry;
    if (log.size() < off + entry) log.resize(off + entry, std::nanf(""));  // NaN never compares equal bitwise to real inputs
    float* e = log.data() + off;
    if (std::memcmp(e, a.x, na * 4) == 0 && std::memcmp(e + na, b.x, nb * 4) == 0 && std::memcmp(e + na + nb, c.x, nc * 4) == 0) {
        std::memcpy(d.x, e + na + nb + nc, nc * 4);
        return;
    }
    std::memcpy(e, a.x, na * 4);
    std::memcpy(e + na, b.x, nb * 4);
    std::memcpy(e + na + nb, c.x, nc * 4);
    float* out = e + na + nb + nc;
    const float *ea = e, *eb = e + na;
    for (int i = 0; i < M; i++) {
        float row[N];
        for (int j = 0; j < N; j++) row[j] = e[na + nb + i * N + j];
        for (int k = 0; k < K; k++) {
            float av = ea[i * K + k];
            for (int j = 0; j < N; j++) row[j] += av * eb[k * N + j];
        }
        for (int j = 0; j < N; j++) out[i * N + j] = row[j];
    }
    std::memcpy(d.x, out, nc * 4);
}
}  // namespace wmma
}  // namespace nvcuda

// Generates the exported entry point of one extern "C" kernel.
#define TAV_EXPORT(name)                                                                                  \
    extern "C" __attribute__((visibility("default"))) int tav_emu_##name(                                 \
        int gx, int gy, int gz, int bx, int by, int bz, int smem, void** params) {                        \
        return ::tav_emu::launch(&name, gx, gy, gz, bx, by, bz, smem, params);                            \
    }
