"""The PyTorch side of `tav bench pipeline --torch PYTHON`: the same UNet3D work as tav4j's stages, on the same
weights (a diffusers-layout UNet folder, e.g. written by `tav bench weights`), PyTorch eager with SDPA.

Stages (each: warm-up steps, then --steps timed steps; CUDA timing ends with torch.cuda.synchronize()):
  invert  one DDIM inversion step: the UNet on the latents (batch 1, the text embedding only), then
          tuneavideo/util.py's next_step, over the 50-step schedule of the official config
  edit    one guided DDIM step: the UNet on [uncond; cond] (batch 2), guidance 12.5, the DDIM update (eta 0)
  tune    one official training step: noise, a timestep uniform in [0, 1000), add_noise, the UNet forward
          with gradient checkpointing per resnet/attention of the down and up blocks (official config), MSE against
          the noise, backward into attn1.to_q / attn2.to_q / attn_temp only, clip_grad_norm 1.0, AdamW (lr 3e-5,
          betas 0.9/0.999, weight decay 1e-2, eps 1e-8)
Precision: fp32 everywhere; bf16/fp16: the inference stages run the model in that dtype, tuning keeps fp32 weights
under torch.autocast as accelerate's mixed_precision does (fp16 adds a GradScaler).

    python tav_torch_bench.py --unet DIR [--frames 8] [--latent 64] [--steps 3] [--warmup 1]
        [--precision fp32|bf16|fp16] [--device cpu|cuda] [--threads N] [--stages invert,edit,tune] [--json OUT]
"""

import argparse
import json
import os
import resource
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError as _e:
    print(f"tav_torch_bench: cannot import torch with {sys.executable}: {_e}", file=sys.stderr)
    sys.exit(3)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tav_unet3d  # noqa: E402

TRAINABLE = ("attn1.to_q", "attn2.to_q", "attn_temp")
GUIDANCE = 12.5
DDIM_STEPS = 50
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class Schedule:
    """scaled_linear betas of SD (0.00085 … 0.012, 1000 steps), DDIM with steps_offset 1, set_alpha_to_one false."""

    def __init__(self, steps):
        betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float32) ** 2
        self.ac = torch.cumprod(1.0 - betas, dim=0).tolist()
        self.final = self.ac[0]
        self.ratio = 1000 // steps
        self.timesteps = [(steps - 1 - i) * self.ratio + 1 for i in range(steps)]

    def alpha(self, t):
        return self.ac[t] if t >= 0 else self.final

    @staticmethod
    def move(x, eps, a, b):
        """x̂0 = (x − √(1−a)·ε)/√a ; x' = √b·x̂0 + √(1−b)·ε."""
        x0 = (x - (1 - a) ** 0.5 * eps) / a ** 0.5
        return b ** 0.5 * x0 + (1 - b) ** 0.5 * eps

    def step(self, eps, t, x):
        return self.move(x, eps, self.alpha(t), self.alpha(t - self.ratio))

    def inversion_step(self, eps, t, x):
        return self.move(x, eps, self.alpha(min(t - self.ratio, 999)), self.ac[t])


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device, steps, warmup, body):
    """Runs body(i) warmup times, then `steps` times; returns (ms per timed step, peak bytes, warm-up ms)."""
    t0 = time.perf_counter()
    for i in range(warmup):
        body(i)
    sync(device)
    warm_ms = (time.perf_counter() - t0) * 1e3
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t1 = time.perf_counter()
    for i in range(steps):
        body(warmup + i)
    sync(device)
    ms = (time.perf_counter() - t1) * 1e3 / steps
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return ms, peak, warm_ms


def stage_invert(model, cfg, a, device, dtype):
    g = torch.Generator(device="cpu").manual_seed(7)
    x0 = torch.randn(1, cfg.in_channels, a.frames, a.latent, a.latent, generator=g).to(device, dtype)
    text = torch.randn(1, 77, cfg.cross_attention_dim, generator=g).to(device, dtype)
    sched = Schedule(DDIM_STEPS)
    state = {"x": x0}

    @torch.no_grad()
    def body(i):
        t = sched.timesteps[len(sched.timesteps) - 1 - (i % DDIM_STEPS)]
        eps = model(state["x"], torch.tensor([t], device=device), text)
        state["x"] = sched.inversion_step(eps, t, state["x"])

    return timed(device, a.steps, a.warmup, body)


def stage_edit(model, cfg, a, device, dtype):
    g = torch.Generator(device="cpu").manual_seed(7)
    x0 = torch.randn(1, cfg.in_channels, a.frames, a.latent, a.latent, generator=g).to(device, dtype)
    text = torch.randn(2, 77, cfg.cross_attention_dim, generator=g).to(device, dtype)
    sched = Schedule(DDIM_STEPS)
    state = {"x": x0}

    @torch.no_grad()
    def body(i):
        t = sched.timesteps[i % DDIM_STEPS]
        eps = model(torch.cat([state["x"]] * 2), torch.tensor([t], device=device), text)
        eu, ec = eps.chunk(2)
        state["x"] = sched.step(eu + GUIDANCE * (ec - eu), t, state["x"])

    return timed(device, a.steps, a.warmup, body)


def stage_tune(model, cfg, a, device, precision):
    model.requires_grad_(False)
    for name, module in model.named_modules():
        if name.endswith(TRAINABLE):
            module.requires_grad_(True)
    params = [p for p in model.parameters() if p.requires_grad]
    model.enable_gradient_checkpointing()
    model.train()
    opt = torch.optim.AdamW(params, lr=3e-5, betas=(0.9, 0.999), weight_decay=1e-2, eps=1e-8)
    autocast = precision != "fp32"
    scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
    sched = Schedule(DDIM_STEPS)
    ac = torch.tensor(sched.ac, device=device)
    g = torch.Generator(device="cpu").manual_seed(11)
    latents = torch.randn(1, cfg.in_channels, a.frames, a.latent, a.latent, generator=g).to(device)
    text = torch.randn(1, 77, cfg.cross_attention_dim, generator=g).to(device)
    losses = []

    def body(i):
        noise = torch.randn_like(latents)
        t = torch.randint(0, 1000, (1,), device=device)
        s = ac[t].view(-1, 1, 1, 1, 1)
        noisy = s.sqrt() * latents + (1 - s).sqrt() * noise
        with torch.autocast(device.type, dtype=DTYPES[precision], enabled=autocast):
            pred = model(noisy, t, text)
        loss = F.mse_loss(pred.float(), noise.float(), reduction="mean")
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
        else:
            loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.detach())

    ms, peak, warm = timed(device, a.steps, a.warmup, body)
    return ms, peak, warm, float(losses[-1]), sum(p.numel() for p in params)


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--unet", required=True, help="diffusers-layout UNet folder (config.json + diffusion_pytorch_model.safetensors)")
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--latent", type=int, default=64, help="latent size (image size / 8)")
    p.add_argument("--steps", type=int, default=3, help="timed steps per stage, after the warm-up")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--precision", choices=sorted(DTYPES), default="fp32")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    p.add_argument("--stages", default="invert,edit,tune")
    p.add_argument("--json", help="write the result here")
    a = p.parse_args(argv)
    bad = [s for s in a.stages.split(",") if s not in ("invert", "edit", "tune")]
    if bad:
        p.error(f"--stages: unknown {bad} (known: invert, edit, tune)")
    if a.steps < 1 or a.frames < 1 or a.latent < 1:
        p.error("--steps, --frames and --latent must be at least 1")
    return a


def main(argv=None):
    a = parse(argv)
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(f"tav_torch_bench: --device cuda but torch {torch.__version__} sees no CUDA device", file=sys.stderr)
        return 4
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    if device.type == "cpu":
        torch.backends.nnpack.set_flags(False)  # silences "Could not initialize NNPACK" on CPUs it does not know
    cfg, state = tav_unet3d.load_state(a.unet)
    dtype = DTYPES[a.precision]
    stages = a.stages.split(",")
    out = {"torch": torch.__version__, "python": sys.version.split()[0],
           "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
           "precision": a.precision, "frames": a.frames, "latent": a.latent, "steps": a.steps, "warmup": a.warmup,
           "threads": torch.get_num_threads(), "params": sum(v.numel() for v in state.values()),
           "tf32": {"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32},
           "stages": {}}
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    log(f"torch {torch.__version__} on {out['device']}, {a.precision}, {a.frames} frames, {a.latent}x{a.latent} latents, "
        f"{out['params'] / 1e6:.1f}M parameters, {out['threads']} threads")
    infer = [s for s in ("invert", "edit") if s in stages]
    if infer:
        model = tav_unet3d.build(cfg, state, device, dtype, a.unet).eval()
        for s in infer:
            fn = stage_invert if s == "invert" else stage_edit
            ms, peak, warm = fn(model, cfg, a, device, dtype)
            out["stages"][s] = {"ms_per_step": ms, "peak_bytes": peak, "warmup_ms": warm}
            log(f"{s}: {ms:.1f} ms per step (warm-up {warm:.0f} ms)")
        del model
    if "tune" in stages:
        if device.type == "cuda":
            torch.cuda.empty_cache()
        model = tav_unet3d.build(cfg, state, device, torch.float32, a.unet)
        ms, peak, warm, loss, trainable = stage_tune(model, cfg, a, device, a.precision)
        out["stages"]["tune"] = {"ms_per_step": ms, "peak_bytes": peak, "warmup_ms": warm, "last_loss": loss,
                                 "trainable_params": trainable}
        log(f"tune: {ms:.1f} ms per step (warm-up {warm:.0f} ms), loss {loss:.5f}")
        del model
    out["max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    text = json.dumps(out)
    if a.json:
        tmp = a.json + ".part"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, a.json)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
