"""Tune-A-Video's UNet3DConditionModel in plain PyTorch (no diffusers), written from the semantics of the official
code (tuneavideo/models on diffusers 0.11.1): the SD UNet with every 2D conv run per frame (InflatedConv3d),
ResnetBlock3D GroupNorms pooling over (C/G, F, H, W), Transformer3DModel blocks with sparse-causal self-attention
(keys/values of the first and the previous frame), cross-attention to the text, a GEGLU feed-forward and temporal
attention over the frames of each position. Attention runs through F.scaled_dot_product_attention, as the
official code does through xformers. Module names equal the checkpoint's parameter names, so a diffusers-layout
folder loads with load_state_dict(strict=True).

Tensors are laid out as the official code lays them out: video (B, C, F, H, W)."""

import json
import math
import os

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn

from st_io import load_file


class Config:
    """The fields of unet/config.json the model uses (a UNet2DConditionModel config inflates the same way)."""

    def __init__(self, d):
        self.in_channels = d.get("in_channels", 4)
        self.out_channels = d.get("out_channels", 4)
        self.block_out_channels = list(d["block_out_channels"])
        n = len(self.block_out_channels)
        self.layers_per_block = d.get("layers_per_block", 2)
        self.norm_num_groups = d.get("norm_num_groups", 32)
        self.norm_eps = d.get("norm_eps", 1e-5)
        self.cross_attention_dim = d.get("cross_attention_dim", 1280)
        h = d.get("attention_head_dim", 8)
        # diffusers 0.11.1 passes attention_head_dim as the number of heads ("attn_num_head_channels")
        self.heads = list(h) if isinstance(h, (list, tuple)) else [h] * n
        self.use_linear_projection = d.get("use_linear_projection", False)
        self.down_attn = [t.startswith("CrossAttn") for t in d["down_block_types"]]
        self.up_attn = [t.startswith("CrossAttn") for t in d["up_block_types"]]
        self.flip_sin_to_cos = d.get("flip_sin_to_cos", True)
        self.freq_shift = d.get("freq_shift", 0)
        self.downsample_padding = d.get("downsample_padding", 1)
        for key in ("dual_cross_attention", "only_cross_attention", "center_input_sample", "upcast_attention"):
            if d.get(key):
                raise ValueError(f"config.json: {key} is not supported by this script")
        if d.get("class_embed_type") is not None:
            raise ValueError("config.json: class_embed_type is not supported by this script")


def _per_frame(module, x):
    """InflatedConv3d: a 2D module applied to every frame of (B, C, F, H, W)."""
    b, _, f, _, _ = x.shape
    y = module(x.transpose(1, 2).reshape(b * f, *x.shape[1:2], *x.shape[3:]))
    return y.reshape(b, f, *y.shape[1:]).transpose(1, 2)


class InflatedConv3d(nn.Conv2d):
    def forward(self, x):
        return _per_frame(super().forward, x)


class ResnetBlock3D(nn.Module):
    def __init__(self, cin, cout, temb, groups, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = InflatedConv3d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.conv2 = InflatedConv3d(cout, cout, 3, padding=1)
        self.conv_shortcut = InflatedConv3d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        # GroupNorm on the 5D tensor: statistics pool over the frames, as in the official ResnetBlock3D
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


def _sdpa(q, k, v, heads):
    """(N, Lq, C), (N, Lk, C) → (N, Lq, C): heads of size C / heads, softmax(q·kᵀ/√d)·v."""
    n, lq, c = q.shape
    d = c // heads
    q = q.view(n, lq, heads, d).transpose(1, 2)
    k = k.view(n, k.shape[1], heads, d).transpose(1, 2)
    v = v.view(n, v.shape[1], heads, d).transpose(1, 2)
    o = F.scaled_dot_product_attention(q, k, v)
    return o.transpose(1, 2).reshape(n, lq, c)


class Attention(nn.Module):
    """diffusers' CrossAttention: q/k/v without bias, to_out.0 with bias (to_out.1 is dropout, nothing stored)."""

    def __init__(self, dim, heads, context_dim=None):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context_dim or dim, dim, bias=False)
        self.to_v = nn.Linear(context_dim or dim, dim, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim)])

    def forward(self, x, context=None):
        src = x if context is None else context
        return self.to_out[0](_sdpa(self.to_q(x), self.to_k(src), self.to_v(src), self.heads))


class SparseCausalAttention(Attention):
    """Queries of frame i attend to the tokens of frame 0 followed by those of frame i−1 (frame 0: itself twice)."""

    def forward(self, x, frames):
        q, k, v = self.to_q(x), self.to_k(x), self.to_v(x)
        prev = torch.arange(frames, device=x.device) - 1
        prev[0] = 0
        first = torch.zeros(frames, dtype=torch.long, device=x.device)

        def pick(t):
            t = t.view(-1, frames, *t.shape[1:])  # (B, F, L, C)
            return torch.cat([t[:, first], t[:, prev]], dim=2).flatten(0, 1)

        return self.to_out[0](_sdpa(q, pick(k), pick(v), self.heads))


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x):
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * 4), nn.Identity(), nn.Linear(dim * 4, dim)])

    def forward(self, x):
        return self.net[2](self.net[0](x))


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, context_dim):
        super().__init__()
        self.attn1 = SparseCausalAttention(dim, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, heads, context_dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)
        self.norm3 = nn.LayerNorm(dim)
        self.attn_temp = Attention(dim, heads)
        self.norm_temp = nn.LayerNorm(dim)

    def forward(self, x, context, frames):
        x = self.attn1(self.norm1(x), frames) + x
        x = self.attn2(self.norm2(x), context) + x
        x = self.ff(self.norm3(x)) + x
        # temporal attention: (B·F, L, C) → (B·L, F, C), every spatial position attends over the frames
        bf, l, c = x.shape
        t = x.view(bf // frames, frames, l, c).transpose(1, 2).reshape(-1, frames, c)
        t = self.attn_temp(self.norm_temp(t)) + t
        return t.view(bf // frames, l, frames, c).transpose(1, 2).reshape(bf, l, c)


class Transformer3DModel(nn.Module):
    def __init__(self, channels, heads, context_dim, groups, linear_proj):
        super().__init__()
        self.linear_proj = linear_proj
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6)  # per frame (the 5D tensor is folded first)
        make = (lambda: nn.Linear(channels, channels)) if linear_proj else (lambda: nn.Conv2d(channels, channels, 1))
        self.proj_in = make()
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(channels, heads, context_dim)])
        self.proj_out = make()

    def forward(self, x, context):
        b, c, f, hh, ww = x.shape
        x = x.transpose(1, 2).reshape(b * f, c, hh, ww)
        ctx = context.repeat_interleave(f, dim=0)  # the text once per frame, as the official code repeats it
        residual = x
        h = self.norm(x)
        if not self.linear_proj:
            h = self.proj_in(h)
        h = h.permute(0, 2, 3, 1).reshape(b * f, hh * ww, c)
        if self.linear_proj:
            h = self.proj_in(h)
        for blk in self.transformer_blocks:
            h = blk(h, ctx, f)
        if self.linear_proj:
            h = self.proj_out(h)
        h = h.reshape(b * f, hh, ww, c).permute(0, 3, 1, 2).contiguous()
        if not self.linear_proj:
            h = self.proj_out(h)
        out = h + residual
        return out.reshape(b, f, c, hh, ww).transpose(1, 2)


class Downsample3D(nn.Module):
    def __init__(self, channels, padding):
        super().__init__()
        self.conv = InflatedConv3d(channels, channels, 3, stride=2, padding=padding)

    def forward(self, x):
        return self.conv(x)


class Upsample3D(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = InflatedConv3d(channels, channels, 3, padding=1)

    def forward(self, x, size=None):
        dtype = x.dtype
        if dtype == torch.bfloat16:  # as the official code (upsample_nearest once lacked bf16)
            x = x.float()
        if size is None:
            x = F.interpolate(x, scale_factor=[1.0, 2.0, 2.0], mode="nearest")
        else:
            x = F.interpolate(x, size=size, mode="nearest")
        return self.conv(x.to(dtype))


def _maybe_checkpoint(block, fn, *args):
    """Gradient checkpointing of one resnet or attention inside a down/up block, as the official blocks do when
    training. Non-reentrant: the official code's reentrant form gives no gradient to the trainable layers of the
    down blocks (their inputs do not require grad), which would skip part of the work tav4j does."""
    if block.training and block.gradient_checkpointing:
        return torch.utils.checkpoint.checkpoint(fn, *args, use_reentrant=False)
    return fn(*args)


class DownBlock(nn.Module):
    def __init__(self, cin, cout, temb, cfg, i, last):
        super().__init__()
        n = cfg.layers_per_block
        self.gradient_checkpointing = False
        self.resnets = nn.ModuleList([ResnetBlock3D(cin if j == 0 else cout, cout, temb, cfg.norm_num_groups, cfg.norm_eps)
                                      for j in range(n)])
        self.attentions = nn.ModuleList([Transformer3DModel(cout, cfg.heads[i], cfg.cross_attention_dim, cfg.norm_num_groups,
                                                            cfg.use_linear_projection) for _ in range(n)]) if cfg.down_attn[i] else None
        self.downsamplers = None if last else nn.ModuleList([Downsample3D(cout, cfg.downsample_padding)])

    def forward(self, x, temb, context):
        states = []
        for j, resnet in enumerate(self.resnets):
            x = _maybe_checkpoint(self, resnet, x, temb)
            if self.attentions is not None:
                x = _maybe_checkpoint(self, self.attentions[j], x, context)
            states.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            states.append(x)
        return x, states


class MidBlock(nn.Module):
    def __init__(self, c, temb, cfg):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock3D(c, c, temb, cfg.norm_num_groups, cfg.norm_eps) for _ in range(2)])
        self.attentions = nn.ModuleList([Transformer3DModel(c, cfg.heads[-1], cfg.cross_attention_dim, cfg.norm_num_groups,
                                                            cfg.use_linear_projection)])

    def forward(self, x, temb, context):  # never checkpointed in the official code
        x = self.resnets[0](x, temb)
        x = self.attentions[0](x, context)
        return self.resnets[1](x, temb)


class UpBlock(nn.Module):
    def __init__(self, cin, cout, prev, temb, cfg, i, last):
        super().__init__()
        n = cfg.layers_per_block + 1
        heads = cfg.heads[::-1][i]
        self.gradient_checkpointing = False
        self.resnets = nn.ModuleList([ResnetBlock3D((prev if j == 0 else cout) + (cin if j == n - 1 else cout), cout, temb,
                                                    cfg.norm_num_groups, cfg.norm_eps) for j in range(n)])
        self.attentions = nn.ModuleList([Transformer3DModel(cout, heads, cfg.cross_attention_dim, cfg.norm_num_groups,
                                                            cfg.use_linear_projection) for _ in range(n)]) if cfg.up_attn[i] else None
        self.upsamplers = None if last else nn.ModuleList([Upsample3D(cout)])

    def forward(self, x, skips, temb, context, size):
        for j, resnet in enumerate(self.resnets):
            x = torch.cat([x, skips.pop()], dim=1)
            x = _maybe_checkpoint(self, resnet, x, temb)
            if self.attentions is not None:
                x = _maybe_checkpoint(self, self.attentions[j], x, context)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x, size)
        return x


def timestep_embedding(t, dim, flip_sin_to_cos, shift, max_period=10000):
    """diffusers' get_timestep_embedding, float32."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / (half - shift)
    e = t[:, None].float() * torch.exp(exponent)[None, :]
    e = torch.cat([torch.sin(e), torch.cos(e)], dim=-1)
    if flip_sin_to_cos:
        e = torch.cat([e[:, half:], e[:, :half]], dim=-1)
    if dim % 2 == 1:
        e = F.pad(e, (0, 1))
    return e


class TimestepEmbedding(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.linear_1 = nn.Linear(cin, cout)
        self.linear_2 = nn.Linear(cout, cout)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class UNet3D(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        ch = cfg.block_out_channels
        nb, temb = len(ch), ch[0] * 4
        self.conv_in = InflatedConv3d(cfg.in_channels, ch[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(ch[0], temb)
        self.down_blocks = nn.ModuleList([DownBlock(ch[max(i - 1, 0)], ch[i], temb, cfg, i, i == nb - 1) for i in range(nb)])
        self.mid_block = MidBlock(ch[-1], temb, cfg)
        rev = ch[::-1]
        self.up_blocks = nn.ModuleList([UpBlock(rev[min(i + 1, nb - 1)], rev[i], rev[max(i - 1, 0)], temb, cfg, i, i == nb - 1)
                                        for i in range(nb)])
        self.conv_norm_out = nn.GroupNorm(cfg.norm_num_groups, ch[0], eps=cfg.norm_eps)
        self.conv_out = InflatedConv3d(ch[0], cfg.out_channels, 3, padding=1)

    def enable_gradient_checkpointing(self):
        for b in list(self.down_blocks) + list(self.up_blocks):
            b.gradient_checkpointing = True

    def forward(self, sample, timestep, context):
        """sample (B, C, F, H, W); timestep a number or a tensor of 1 or B; context (B, 77, D). Returns ε̂ (B, C, F, H, W)."""
        b = sample.shape[0]
        t = torch.as_tensor(timestep, device=sample.device).reshape(-1).expand(b)
        emb = self.time_embedding(timestep_embedding(t, self.cfg.block_out_channels[0], self.cfg.flip_sin_to_cos,
                                                     self.cfg.freq_shift).to(self.conv_in.weight.dtype))
        up_factor = 2 ** (len(self.up_blocks) - 1)
        forced = any(s % up_factor != 0 for s in sample.shape[-2:])
        x = self.conv_in(sample)
        skips = [x]
        for blk in self.down_blocks:
            x, states = blk(x, emb, context)
            skips.extend(states)
        x = self.mid_block(x, emb, context)
        for i, blk in enumerate(self.up_blocks):
            mine = skips[-len(blk.resnets):]
            del skips[-len(blk.resnets):]
            size = skips[-1].shape[2:] if forced and i < len(self.up_blocks) - 1 else None
            x = blk(x, mine, emb, context, size)
        x = F.silu(self.conv_norm_out(x))
        return self.conv_out(x)


def _weights_file(folder):
    for name in ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"):
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            return p
    raise FileNotFoundError(f"{folder}: no diffusion_pytorch_model.safetensors (a diffusers-layout UNet folder holds "
                            f"config.json and diffusion_pytorch_model.safetensors)")


def read_config(folder):
    path = os.path.join(folder, "config.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{folder}: no config.json (a diffusers-layout UNet folder holds config.json and "
                                f"diffusion_pytorch_model.safetensors)")
    with open(path) as f:
        return Config(json.load(f))


def load_state(folder, temporal_init=None):
    """(config, state dict on the CPU) of a folder: a tuned UNet3DConditionModel (temporal layers included), or a
    2D UNet plus the temporal layers of `temporal_init` (a safetensors file)."""
    cfg = read_config(folder)
    state = load_file(_weights_file(folder))
    if temporal_init is not None:
        state.update(load_file(temporal_init))
    return cfg, state


def build(cfg, state, device="cpu", dtype=torch.float32, where="weights"):
    """The UNet3D of `cfg` with `state` on `device` as `dtype`. Every parameter must be present, and no other."""
    with torch.device("meta"):
        model = UNet3D(cfg)
    expected = set(model.state_dict().keys())
    missing, extra = sorted(expected - state.keys()), sorted(state.keys() - expected)
    if missing or extra:
        raise ValueError(f"{where}: the weights do not match the UNet3D of config.json: "
                         f"{len(missing)} missing (first: {missing[:3]}), {len(extra)} unexpected (first: {extra[:3]})")
    model = model.to(dtype=dtype).to_empty(device=device)
    with torch.no_grad():
        for name, p in model.state_dict().items():
            p.copy_(state[name].to(device=device, dtype=dtype))
    return model


def load(folder, temporal_init=None, device="cpu", dtype=torch.float32):
    cfg, state = load_state(folder, temporal_init)
    return build(cfg, state, device, dtype, folder)
