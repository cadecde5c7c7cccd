"""Runs the checked-in tav4j.ptx on a real GPU (CuPy loads the module, PyTorch is the reference) and times the
heavy kernels. Not part of the build (CI has no GPU): `python3 native/gpucheck/check_ptx.py PTX_PATH` (.ptx or .ptx.gz).
Launch geometry mirrors CudaOps. Errors are max|got - ref| / max|ref| against float64 PyTorch."""
import sys, math, time
import numpy as np
import cupy as cp
import torch
import torch.nn.functional as F

ptx = sys.argv[1]
if ptx.endswith(".gz"):  # the checked-in module is gzip-compressed: RawModule loads a .ptx file
    import gzip, tempfile
    with open(ptx, "rb") as f, tempfile.NamedTemporaryFile(suffix=".ptx", delete=False) as out:
        out.write(gzip.decompress(f.read()))
    ptx = out.name
mod = cp.RawModule(path=ptx)
dev = torch.device("cuda")
torch.manual_seed(0)
P, I32, I64, F32 = np.uint64, np.int32, np.int64, np.float32
fails = []


def k(name):
    return mod.get_function(name)


def ptr(t):
    return P(t.data_ptr())


def err(got, ref):
    got, ref = got.double().cpu(), ref.double().cpu()
    return ((got - ref).abs().max() / ref.abs().max().clamp_min(1e-30)).item()


def check(what, got, ref, tol):
    e = err(got, ref)
    ok = e <= tol
    print(f"{'ok  ' if ok else 'FAIL'} {what}: rel err {e:.2e} (tol {tol:g})", flush=True)
    if not ok:
        fails.append(what)


def timed(fn, reps=20):
    fn(); torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(reps):
        fn()
    e.record(); torch.cuda.synchronize()
    return s.elapsed_time(e) / reps


BUCKETS = [8, 16, 32, 40, 64, 80, 128, 160]
SUF = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16"}


def bucket(d):
    return next(b for b in BUCKETS if d <= b)


def ref_attention(kind, frames, heads, scale, q, kk, v):
    """float64 reference per AttentionKind, via explicit key sets."""
    q, kk, v = q.double(), kk.double(), v.double()
    n, l, c = q.shape
    d = c // heads
    def split(t):  # [n, L, C] -> [n, heads, L, d]
        return t.view(t.shape[0], t.shape[1], heads, d).transpose(1, 2)
    if kind == "TEMPORAL":
        b = n // frames
        qt = q.view(b, frames, l, heads, d).permute(0, 2, 3, 1, 4)  # b, l, h, f, d
        kt = kk.view(b, frames, l, heads, d).permute(0, 2, 3, 1, 4)
        vt = v.view(b, frames, l, heads, d).permute(0, 2, 3, 1, 4)
        o = torch.softmax(qt @ kt.transpose(-1, -2) * scale, -1) @ vt
        return o.permute(0, 3, 1, 2, 4).reshape(n, l, c)
    if kind == "SPARSE_CAUSAL":
        idx = torch.arange(n, device=q.device)
        first = (idx // frames) * frames
        prev = first + (idx % frames - 1).clamp_min(0)
        kk = torch.cat([kk[first], kk[prev]], 1)
        v = torch.cat([v[first], v[prev]], 1)
    if kind == "CROSS":
        kk = kk.repeat_interleave(frames, 0)
        v = v.repeat_interleave(frames, 0)
    s = split(q) @ split(kk).transpose(-1, -2) * scale
    if kind == "CAUSAL":
        s = s.masked_fill(torch.ones(l, l, device=q.device, dtype=torch.bool).triu(1), float("-inf"))
    o = torch.softmax(s, -1) @ split(v)
    return o.transpose(1, 2).reshape(n, l, c)


CODES = {"SELF": 0, "CAUSAL": 1, "SPARSE_CAUSAL": 2, "CROSS": 3}


def run_attention(kind, frames, heads, scale, q, kk, v, out):
    n, l, c = q.shape
    d = c // heads
    s = SUF[q.dtype]
    if kind == "TEMPORAL":
        fn = k(f"attention_temporal_d{bucket(d)}_{s}")
        g = (n * l * heads + 31) // 32
        return lambda: fn((g, 1, 1), (128, 1, 1), (ptr(q), ptr(kk), ptr(v), ptr(out), I32(frames), I32(heads), I32(d),
                                                  I32(n), I32(l), I32(c), F32(scale)))
    lk = kk.shape[1]
    nkeys = 2 * lk if kind == "SPARSE_CAUSAL" else lk
    fn = k(f"attention_d{bucket(d)}_{s}")
    return lambda: fn(((l + 31) // 32, n * heads, 1), (128, 1, 1),
                      (ptr(q), ptr(kk), ptr(v), ptr(out), I32(CODES[kind]), I32(frames), I32(heads), I32(d), I32(l),
                       I32(lk), I32(nkeys), I32(c), F32(scale)))


def attention_case(kind, batch, frames, l, lk, heads, d, dtype=torch.float32, tol=2e-5, time_it=False):
    n, c = batch * frames, heads * d
    nk = batch if kind == "CROSS" else n
    q = torch.randn(n, l, c, device=dev)
    kk = torch.randn(nk, lk, c, device=dev)
    v = torch.randn(nk, lk, c, device=dev)
    scale = 1 / math.sqrt(d)
    ref = ref_attention(kind, frames, heads, scale, q, kk, v)
    qh, kh, vh = q.to(dtype), kk.to(dtype), v.to(dtype)
    out = torch.empty_like(qh)
    launch = run_attention(kind, frames, heads, scale, qh, kh, vh, out)
    launch(); torch.cuda.synchronize()
    check(f"attention {kind} b={batch} f={frames} L={l} Lk={lk} heads={heads} D={d} {SUF[dtype]}", out, ref, tol)
    if time_it:
        ms = timed(launch)
        print(f"     time {ms:.3f} ms", flush=True)


# ---- attention: every kind, bucket edges, tails
for args in [("SELF", 2, 1, 37, 37, 2, 40), ("CAUSAL", 2, 1, 77, 77, 12, 64), ("SPARSE_CAUSAL", 1, 3, 33, 33, 2, 40),
             ("SPARSE_CAUSAL", 2, 4, 100, 100, 5, 8), ("SPARSE_CAUSAL", 1, 2, 64, 64, 2, 160), ("CROSS", 2, 3, 50, 77, 8, 80),
             ("TEMPORAL", 2, 8, 300, 300, 8, 40), ("TEMPORAL", 1, 5, 7, 7, 3, 20)]:
    attention_case(*args)
attention_case("SPARSE_CAUSAL", 1, 4, 256, 256, 8, 40, torch.bfloat16, 2e-2)
attention_case("CROSS", 1, 4, 256, 77, 8, 64, torch.float16, 3e-3)

# ---- GroupNorm pooled over frames (ResnetBlock3D) and per frame, with SiLU
def groupnorm_case(b, frames, h, w, c, groups, pooled, silu, dtype=torch.float32, tol=2e-5, time_it=False):
    n = b * frames
    x = torch.randn(n, h, w, c, device=dev) + 3
    gamma, beta = torch.randn(c, device=dev), torch.randn(c, device=dev)
    # reference: NCHW group_norm over the pooled images
    xv = x.double().view(n // pooled, pooled, h, w, c).permute(0, 4, 1, 2, 3)  # V, C, P, H, W
    ref = F.group_norm(xv, groups, gamma.double(), beta.double(), 1e-5)
    ref = ref.permute(0, 2, 3, 4, 1).reshape(n, h, w, c)
    if silu:
        ref = F.silu(ref)
    xh, gh, bh = x.to(dtype), gamma.to(dtype), beta.to(dtype)
    out = torch.empty_like(xh)
    hw, videos = h * w, n // pooled
    vg = videos * groups
    ge = pooled * hw * (c // groups)
    s = max(1, min(64, (ge + 8191) // 8192))
    chunk = (ge + s - 1) // s
    part = torch.empty(vg * s * 3 + vg * 2, device=dev)
    stats = part.data_ptr() + vg * s * 3 * 4
    kp, kf, ka = k(f"groupnorm_partial_{SUF[dtype]}"), k("groupnorm_finalize"), k(f"groupnorm_apply_{SUF[dtype]}")
    total = x.numel()
    def launch():
        kp((s, vg, 1), (256, 1, 1), (ptr(xh), ptr(part), I32(c), I32(groups), I64(hw), I32(pooled), I64(chunk)))
        kf(((vg + 255) // 256, 1, 1), (256, 1, 1), (ptr(part), P(stats), I32(vg), I32(s), F32(1e-5)))
        ka((min(16384, (total + 255) // 256), 1, 1), (256, 1, 1), (ptr(xh), P(stats), ptr(gh), ptr(bh), ptr(out), I64(total),
            I32(c), I32(groups), I64(hw), I32(pooled), I32(1 if silu else 0)))
    launch(); torch.cuda.synchronize()
    check(f"groupnorm b={b} f={frames} {h}x{w} C={c} G={groups} pooled={pooled} silu={silu} {SUF[dtype]}", out, ref, tol)
    if time_it:
        print(f"     time {timed(launch):.3f} ms  (torch group_norm+silu NCHW f32: "
              f"{timed(lambda: F.silu(F.group_norm(xv.float(), groups, gamma, beta, 1e-5))):.3f} ms)", flush=True)


groupnorm_case(1, 3, 5, 7, 12, 4, 3, True)
groupnorm_case(2, 4, 9, 9, 64, 32, 1, False)
groupnorm_case(1, 8, 64, 64, 320, 32, 8, True, time_it=True)
groupnorm_case(1, 8, 32, 32, 640, 32, 8, True, torch.bfloat16, 1.5e-2)


# ---- conv as implicit GEMM, NHWC
def conv_case(n, h, w, ci, co, kk, stride, pad, br_only, dtype=torch.float32, tol=1e-5, time_it=False):
    x = torch.randn(n, h, w, ci, device=dev)
    wt = torch.randn(kk, kk, ci, co, device=dev) / math.sqrt(kk * kk * ci)
    bias = torch.randn(co, device=dev)
    xn = x.double().permute(0, 3, 1, 2)
    if br_only:
        xn = F.pad(xn, (0, 1, 0, 1))
    ref = F.conv2d(xn, wt.double().permute(3, 2, 0, 1), bias.double(), stride, 0 if br_only else pad).permute(0, 2, 3, 1)
    extra, top = (1, 0) if br_only else (2 * pad, pad)
    ho, wo = (h + extra - kk) // stride + 1, (w + extra - kk) // stride + 1
    xh, wh, bh = x.to(dtype), wt.to(dtype), bias.to(dtype)
    out = torch.empty(n, ho, wo, co, device=dev, dtype=dtype)
    fn = k(f"conv2d_{SUF[dtype]}")
    m = n * ho * wo
    launch = lambda: fn(((m + 63) // 64, (co + 63) // 64, 1), (256, 1, 1),
                        (ptr(xh), ptr(wh), ptr(bh), P(0), ptr(out), I32(n), I32(h), I32(w), I32(ci), I32(ho), I32(wo), I32(co),
                         I32(kk), I32(kk), I32(stride), I32(top), I32(top)))
    launch(); torch.cuda.synchronize()
    check(f"conv2d N={n} {h}x{w} {ci}->{co} k={kk} s={stride} pad={pad} brOnly={br_only} {SUF[dtype]}", out, ref, tol)
    if time_it:
        ms = timed(launch)
        flops = 2.0 * m * co * kk * kk * ci
        xc = x.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
        wc = wt.permute(3, 2, 0, 1).contiguous()
        tms = timed(lambda: F.conv2d(xc, wc, bias, stride, pad))
        print(f"     time {ms:.3f} ms = {flops / ms / 1e9:.1f} TFLOP/s  (torch/cuDNN f32 channels_last: {tms:.3f} ms)", flush=True)


conv_case(2, 7, 5, 5, 70, 3, 1, 1, False)
conv_case(1, 9, 6, 3, 8, 3, 2, 1, False)
conv_case(2, 8, 8, 4, 6, 3, 2, 0, True)
conv_case(3, 4, 3, 17, 65, 1, 1, 0, False)
conv_case(8, 64, 64, 320, 320, 3, 1, 1, False, time_it=True)
conv_case(8, 32, 32, 640, 640, 3, 1, 1, False, torch.float16, 3e-3)

# ---- attention timings at SD scale (8 frames of 64x64 latents, 8 heads of 40)
print("timings (SD 1.5 first block, 8 frames, 4096 tokens, 8 heads of 40):", flush=True)
attention_case("SPARSE_CAUSAL", 1, 8, 4096, 4096, 8, 40, time_it=True)
attention_case("SPARSE_CAUSAL", 1, 8, 4096, 4096, 8, 40, torch.bfloat16, 2e-2, time_it=True)
attention_case("CROSS", 1, 8, 4096, 77, 8, 40, time_it=True)
attention_case("TEMPORAL", 1, 8, 4096, 4096, 8, 40, time_it=True)
qq = torch.randn(8, 8, 4096, 40, device=dev, dtype=torch.bfloat16)
kv = torch.randn(8, 8, 8192, 40, device=dev, dtype=torch.bfloat16)
print(f"     torch SDPA bf16 same sparse-causal problem (keys concatenated): "
      f"{timed(lambda: F.scaled_dot_product_attention(qq, kv, kv)):.3f} ms", flush=True)

# ---- small kernels
x = torch.randn(13, 77, device=dev) - 2
g, bb = torch.randn(77, device=dev), torch.randn(77, device=dev)
o = torch.empty_like(x)
k("layernorm_f32")(((13 + 3) // 4, 1, 1), (128, 1, 1), (ptr(x), ptr(g), ptr(bb), ptr(o), I64(13), I32(77), F32(1e-5)))
check("layernorm", o, F.layer_norm(x.double(), (77,), g.double(), bb.double(), 1e-5), 2e-5)
x = torch.randn(9, 26, device=dev)
o = torch.empty(9, 13, device=dev)
k("geglu_f32")((1, 1, 1), (256, 1, 1), (ptr(x), ptr(o), I64(9), I32(13)))
a_, gate = x.double().chunk(2, -1)
check("geglu", o, a_ * F.gelu(gate), 1e-6)
ts = torch.tensor([0., 1., 37., 999.], device=dev)
o = torch.empty(4, 320, device=dev)
k("timestep_embedding_f32")((2, 1, 1), (256, 1, 1), (ptr(ts), ptr(o), I32(4), I32(320), I32(1), F32(0.0)))
half = 160
ex = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float64, device=dev) / half)
emb = ts.double()[:, None] * ex[None]
check("timestep_embedding", o, torch.cat([emb.cos(), emb.sin()], -1), 2e-4)

print("ALL OK" if not fails else f"FAILED: {fails}")
sys.exit(1 if fails else 0)
