#!/usr/bin/env python3
"""Writes the fixtures of the full-size CLI test (cli/src/test/java/dev/tav4j/cli/FullSizeGenerateTest.java).

For each flavour (sd15 = runwayml/stable-diffusion-v1-5, sd21 = stabilityai/stable-diffusion-2-1) it writes under
cli/src/test/resources/fullsize/<flavour>/:
  - the pipeline's config files, laid out as the hub repo has them: model_index.json, scheduler/scheduler_config.json,
    text_encoder/config.json, tokenizer/tokenizer_config.json, tokenizer/special_tokens_map.json, unet/config.json,
    vae/config.json, feature_extractor/preprocessor_config.json, and (sd15) safety_checker/config.json;
  - unet3d-config.json: the config of a tuned UNet3DConditionModel as Tune-A-Video saves it (for --unet);
  - weights-<component>.tsv for unet, vae, text_encoder and unet3d: one line per tensor, "name<TAB>d0,d1,...", in
    the order of model.state_dict() of the real libraries (diffusers UNet2DConditionModel / AutoencoderKL built
    from the configs above, transformers CLIPTextModel), built on the meta device: no weights are read or made.
    unet3d is the 2-D list plus Tune-A-Video's temporal layers (attn_temp, norm_temp) in every transformer block.
    Text encoder names carry the hub files' "text_model." prefix (see make()).
    These lists are the truth the Java test writes random checkpoints from, independent of tav4j's own loader.

The config files were NOT downloaded (this machine reaches no model hub): they are reconstructed from knowledge of
those repos (field names, values, _class_name/_diffusers_version, the AddedToken dicts of the tokenizer files), and
each is then parsed by diffusers/transformers here, so at least the real libraries accept them. vocab.json and
merges.txt are not written: the test copies the real CLIP vocabulary from the golden tiny checkpoint.

Rerun (needs torch, transformers, accelerate and diffusers; diffusers' source tree on PYTHONPATH works too):
    python3 -m venv /tmp/fsvenv && /tmp/fsvenv/bin/pip install torch diffusers transformers accelerate
    /tmp/fsvenv/bin/python scripts/fullsize/make-fixtures.py [--golden ../shared/golden]
The committed output was made with torch 2.13.0+cpu, transformers 5.18.0, accelerate 1.15.0 and diffusers
0.40.0.dev0 (its src/ from a clone of huggingface/diffusers on PYTHONPATH, where pip had no diffusers wheel).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import torch
from accelerate import init_empty_weights
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "cli", "src", "test", "resources", "fullsize")

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def added(content, with_type):
    # tokenizer_config.json of these repos tags AddedToken dicts with "__type"; special_tokens_map.json does not
    d = {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    return {"__type": "AddedToken", **d} if with_type else d


def tokenizer_files(name_or_path, pad_in_map):
    config = {
        "add_prefix_space": False,
        "bos_token": added("<|startoftext|>", True),
        "do_lower_case": True,
        "eos_token": added("<|endoftext|>", True),
        "errors": "replace",
        "model_max_length": 77,
        "name_or_path": name_or_path,
        "pad_token": "<|endoftext|>",
        "special_tokens_map_file": "./special_tokens_map.json",
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": added("<|endoftext|>", True),
    }
    smap = {
        "bos_token": added("<|startoftext|>", False),
        "eos_token": added("<|endoftext|>", False),
        "pad_token": pad_in_map,
        "unk_token": added("<|endoftext|>", False),
    }
    return config, smap


DOWN2D = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
UP2D = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]


def vae_config(version, sample_size):
    return {
        "_class_name": "AutoencoderKL",
        "_diffusers_version": version,
        "act_fn": "silu",
        "block_out_channels": [128, 256, 512, 512],
        "down_block_types": ["DownEncoderBlock2D"] * 4,
        "in_channels": 3,
        "latent_channels": 4,
        "layers_per_block": 2,
        "norm_num_groups": 32,
        "out_channels": 3,
        "sample_size": sample_size,
        "up_block_types": ["UpDecoderBlock2D"] * 4,
    }


def sd15():
    tok_config, tok_map = tokenizer_files("openai/clip-vit-large-patch14", "<|endoftext|>")
    return {
        "model_index.json": {
            "_class_name": "StableDiffusionPipeline",
            "_diffusers_version": "0.6.0",
            "feature_extractor": ["transformers", "CLIPImageProcessor"],
            "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"],
            "scheduler": ["diffusers", "PNDMScheduler"],
            "text_encoder": ["transformers", "CLIPTextModel"],
            "tokenizer": ["transformers", "CLIPTokenizer"],
            "unet": ["diffusers", "UNet2DConditionModel"],
            "vae": ["diffusers", "AutoencoderKL"],
        },
        "scheduler/scheduler_config.json": {
            "_class_name": "PNDMScheduler",
            "_diffusers_version": "0.6.0",
            "beta_end": 0.012,
            "beta_schedule": "scaled_linear",
            "beta_start": 0.00085,
            "num_train_timesteps": 1000,
            "set_alpha_to_one": False,
            "skip_prk_steps": True,
            "steps_offset": 1,
            "trained_betas": None,
            "clip_sample": False,
        },
        "text_encoder/config.json": {
            "_name_or_path": "openai/clip-vit-large-patch14",
            "architectures": ["CLIPTextModel"],
            "attention_dropout": 0.0,
            "bos_token_id": 0,
            "dropout": 0.0,
            "eos_token_id": 2,
            "hidden_act": "quick_gelu",
            "hidden_size": 768,
            "initializer_factor": 1.0,
            "initializer_range": 0.02,
            "intermediate_size": 3072,
            "layer_norm_eps": 1e-05,
            "max_position_embeddings": 77,
            "model_type": "clip_text_model",
            "num_attention_heads": 12,
            "num_hidden_layers": 12,
            "pad_token_id": 1,
            "projection_dim": 768,
            "torch_dtype": "float32",
            "transformers_version": "4.22.0.dev0",
            "vocab_size": 49408,
        },
        "tokenizer/tokenizer_config.json": tok_config,
        "tokenizer/special_tokens_map.json": tok_map,
        "unet/config.json": {
            "_class_name": "UNet2DConditionModel",
            "_diffusers_version": "0.6.0",
            "act_fn": "silu",
            "attention_head_dim": 8,
            "block_out_channels": [320, 640, 1280, 1280],
            "center_input_sample": False,
            "cross_attention_dim": 768,
            "down_block_types": DOWN2D,
            "downsample_padding": 1,
            "flip_sin_to_cos": True,
            "freq_shift": 0,
            "in_channels": 4,
            "layers_per_block": 2,
            "mid_block_scale_factor": 1,
            "norm_eps": 1e-05,
            "norm_num_groups": 32,
            "out_channels": 4,
            "sample_size": 64,
            "up_block_types": UP2D,
        },
        "vae/config.json": vae_config("0.6.0", 512),
        "feature_extractor/preprocessor_config.json": {
            "crop_size": {"height": 224, "width": 224},
            "do_center_crop": True,
            "do_convert_rgb": True,
            "do_normalize": True,
            "do_rescale": True,
            "do_resize": True,
            "feature_extractor_type": "CLIPFeatureExtractor",
            "image_mean": CLIP_MEAN,
            "image_processor_type": "CLIPImageProcessor",
            "image_std": CLIP_STD,
            "resample": 3,
            "rescale_factor": 0.00392156862745098,
            "size": {"shortest_edge": 224},
        },
        "safety_checker/config.json": {
            "_commit_hash": "cb41f3a270d63d454d385fc2e4f571c487c253c5",
            "_name_or_path": "CompVis/stable-diffusion-safety-checker",
            "architectures": ["StableDiffusionSafetyChecker"],
            "initializer_factor": 1.0,
            "logit_scale_init_value": 2.6592,
            "model_type": "clip",
            "projection_dim": 768,
            "text_config": {
                "_name_or_path": "", "architectures": None, "attention_dropout": 0.0, "bos_token_id": 0,
                "dropout": 0.0, "eos_token_id": 2, "hidden_act": "quick_gelu", "hidden_size": 768,
                "initializer_factor": 1.0, "initializer_range": 0.02, "intermediate_size": 3072,
                "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "clip_text_model",
                "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 1, "projection_dim": 512,
                "torch_dtype": None, "vocab_size": 49408,
            },
            "text_config_dict": {"hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12,
                                 "num_hidden_layers": 12},
            "torch_dtype": "float32",
            "transformers_version": None,
            "vision_config": {
                "_name_or_path": "", "architectures": None, "attention_dropout": 0.0, "dropout": 0.0,
                "hidden_act": "quick_gelu", "hidden_size": 1024, "image_size": 224, "initializer_factor": 1.0,
                "initializer_range": 0.02, "intermediate_size": 4096, "layer_norm_eps": 1e-05,
                "model_type": "clip_vision_model", "num_attention_heads": 16, "num_channels": 3,
                "num_hidden_layers": 24, "patch_size": 14, "projection_dim": 512, "torch_dtype": None,
            },
            "vision_config_dict": {"hidden_size": 1024, "intermediate_size": 4096, "num_attention_heads": 16,
                                   "num_hidden_layers": 24, "patch_size": 14},
        },
    }


def sd21():
    # the hub's sd 2.x tokenizer: tokenizer_config says "<|endoftext|>", special_tokens_map says "!" (which wins)
    tok_config, tok_map = tokenizer_files("hf-models/stable-diffusion-v2-768x768/tokenizer", "!")
    return {
        "model_index.json": {
            "_class_name": "StableDiffusionPipeline",
            "_diffusers_version": "0.10.0.dev0",
            "feature_extractor": ["transformers", "CLIPImageProcessor"],
            "requires_safety_checker": False,
            "safety_checker": [None, None],
            "scheduler": ["diffusers", "DDIMScheduler"],
            "text_encoder": ["transformers", "CLIPTextModel"],
            "tokenizer": ["transformers", "CLIPTokenizer"],
            "unet": ["diffusers", "UNet2DConditionModel"],
            "vae": ["diffusers", "AutoencoderKL"],
        },
        "scheduler/scheduler_config.json": {
            "_class_name": "DDIMScheduler",
            "_diffusers_version": "0.8.0",
            "beta_end": 0.012,
            "beta_schedule": "scaled_linear",
            "beta_start": 0.00085,
            "clip_sample": False,
            "num_train_timesteps": 1000,
            "prediction_type": "v_prediction",
            "set_alpha_to_one": False,
            "skip_prk_steps": True,
            "steps_offset": 1,
            "trained_betas": None,
        },
        # OpenCLIP ViT-H's text tower as diffusers converts it: 23 of its 24 layers (SD 2 uses the penultimate)
        "text_encoder/config.json": {
            "_name_or_path": "hf-models/stable-diffusion-v2-768x768/text_encoder",
            "architectures": ["CLIPTextModel"],
            "attention_dropout": 0.0,
            "bos_token_id": 0,
            "dropout": 0.0,
            "eos_token_id": 2,
            "hidden_act": "gelu",
            "hidden_size": 1024,
            "initializer_factor": 1.0,
            "initializer_range": 0.02,
            "intermediate_size": 4096,
            "layer_norm_eps": 1e-05,
            "max_position_embeddings": 77,
            "model_type": "clip_text_model",
            "num_attention_heads": 16,
            "num_hidden_layers": 23,
            "pad_token_id": 1,
            "projection_dim": 512,
            "torch_dtype": "float32",
            "transformers_version": "4.25.0.dev0",
            "vocab_size": 49408,
        },
        "tokenizer/tokenizer_config.json": tok_config,
        "tokenizer/special_tokens_map.json": tok_map,
        "unet/config.json": {
            "_class_name": "UNet2DConditionModel",
            "_diffusers_version": "0.10.0.dev0",
            "act_fn": "silu",
            "attention_head_dim": [5, 10, 20, 20],
            "block_out_channels": [320, 640, 1280, 1280],
            "center_input_sample": False,
            "cross_attention_dim": 1024,
            "down_block_types": DOWN2D,
            "downsample_padding": 1,
            "dual_cross_attention": False,
            "flip_sin_to_cos": True,
            "freq_shift": 0,
            "in_channels": 4,
            "layers_per_block": 2,
            "mid_block_scale_factor": 1,
            "norm_eps": 1e-05,
            "norm_num_groups": 32,
            "num_class_embeds": None,
            "only_cross_attention": False,
            "out_channels": 4,
            "sample_size": 96,
            "up_block_types": UP2D,
            "upcast_attention": True,
            "use_linear_projection": True,
        },
        "vae/config.json": vae_config("0.10.0.dev0", 768),
        "feature_extractor/preprocessor_config.json": {
            "crop_size": 224,
            "do_center_crop": True,
            "do_convert_rgb": True,
            "do_normalize": True,
            "do_resize": True,
            "feature_extractor_type": "CLIPFeatureExtractor",
            "image_mean": CLIP_MEAN,
            "image_std": CLIP_STD,
            "resample": 3,
            "size": 224,
        },
    }


def unet3d_config(unet2d):
    """The config.json Tune-A-Video (diffusers 0.11.1) saves for its UNet3DConditionModel tuned from unet2d."""
    c = {
        "_class_name": "UNet3DConditionModel",
        "_diffusers_version": "0.11.1",
        "_name_or_path": "./checkpoints/stable-diffusion",
        "act_fn": "silu",
        "attention_head_dim": unet2d["attention_head_dim"],
        "block_out_channels": unet2d["block_out_channels"],
        "center_input_sample": False,
        "class_embed_type": None,
        "cross_attention_dim": unet2d["cross_attention_dim"],
        "down_block_types": [t.replace("2D", "3D") for t in unet2d["down_block_types"]],
        "downsample_padding": 1,
        "dual_cross_attention": False,
        "flip_sin_to_cos": True,
        "freq_shift": 0,
        "in_channels": 4,
        "layers_per_block": 2,
        "mid_block_scale_factor": 1,
        "mid_block_type": "UNetMidBlock3DCrossAttn",
        "norm_eps": 1e-05,
        "norm_num_groups": 32,
        "num_class_embeds": None,
        "only_cross_attention": False,
        "out_channels": 4,
        "resnet_time_scale_shift": "default",
        "sample_size": unet2d["sample_size"],
        "up_block_types": [t.replace("2D", "3D") for t in unet2d["up_block_types"]],
        "upcast_attention": unet2d.get("upcast_attention", False),
        "use_linear_projection": unet2d.get("use_linear_projection", False),
    }
    return c


def manifest(state_dict, prefix=""):
    """(name, shape) per tensor in state_dict order; prefix is added to names that lack it."""
    return [(k if k.startswith(prefix) else prefix + k, list(v.shape)) for k, v in state_dict.items()
            if not k.endswith("embeddings.position_ids")]


def with_temporal(unet2d_manifest):
    """Tune-A-Video's BasicTransformerBlock adds attn_temp (to_q/k/v without bias, to_out.0 with) and norm_temp
    after norm3; every other tensor keeps its 2-D name and shape (the inflated convs keep their 2-D kernels)."""
    out = []
    for name, shape in unet2d_manifest:
        out.append((name, shape))
        if ".transformer_blocks." in name and name.endswith(".norm3.bias"):
            block = name[: -len("norm3.bias")]
            dim = shape[0]
            for p in ("to_q", "to_k", "to_v"):
                out.append((block + "attn_temp." + p + ".weight", [dim, dim]))
            out.append((block + "attn_temp.to_out.0.weight", [dim, dim]))
            out.append((block + "attn_temp.to_out.0.bias", [dim]))
            out.append((block + "norm_temp.weight", [dim]))
            out.append((block + "norm_temp.bias", [dim]))
    return out


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=2) + "\n")


def write_tsv(path, rows):
    with open(path, "w") as f:
        for name, shape in rows:
            f.write(name + "\t" + ",".join(str(d) for d in shape) + "\n")


def check_tokenizer(files, golden, expected_pad):
    """Loads the tokenizer files with transformers over the golden vocabulary: the real library must accept them
    and resolve the pad token the way the hub's pipelines do."""
    vocab_dir = os.path.join(golden, "models", "tiny-sd-a", "tokenizer")
    if not os.path.isdir(vocab_dir):
        print("  (golden vocabulary not found at " + vocab_dir + ": tokenizer check skipped)")
        return
    with tempfile.TemporaryDirectory() as d:
        for f in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(vocab_dir, f), d)
        for f in ("tokenizer_config.json", "special_tokens_map.json"):
            write_json(os.path.join(d, f), files["tokenizer/" + f])
        tok = CLIPTokenizer.from_pretrained(d)
        assert tok.pad_token == expected_pad, (tok.pad_token, expected_pad)
        print("  tokenizer: pad_token %r (id %d), model_max_length %d" % (tok.pad_token, tok.pad_token_id, tok.model_max_length))


def make(flavour, files, golden, expected_pad):
    out = os.path.join(OUT, flavour)
    if os.path.isdir(out):
        shutil.rmtree(out)
    for rel, obj in files.items():
        write_json(os.path.join(out, rel), obj)
    u3 = unet3d_config(files["unet/config.json"])
    write_json(os.path.join(out, "unet3d-config.json"), u3)

    with init_empty_weights():
        unet = UNet2DConditionModel.from_config(files["unet/config.json"])
        vae = AutoencoderKL.from_config(files["vae/config.json"])
        te_cfg = {k: v for k, v in files["text_encoder/config.json"].items() if not k.startswith("_")}
        text = CLIPTextModel(CLIPTextConfig(**te_cfg))
    rows = {"unet": manifest(unet.state_dict()), "vae": manifest(vae.state_dict()),
            # the hub's model.safetensors (and transformers < 5) name them text_model.*; transformers >= 5 has
            # flattened CLIPTextModel (no text_model. in state_dict() nor in what save_pretrained writes) and
            # strips the prefix when loading, so the hub's names are the ones kept here
            "text_encoder": manifest(text.state_dict(), "text_model.")}
    rows["unet3d"] = with_temporal(rows["unet"])
    for comp, r in rows.items():
        write_tsv(os.path.join(out, "weights-" + comp + ".tsv"), r)
        n = sum(int(torch.tensor(s).prod().item()) if s else 1 for _, s in r)
        print("  %-12s %4d tensors, %11d parameters" % (comp, len(r), n))
    check_tokenizer(files, golden, expected_pad)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--golden", default=os.environ.get("TAV_GOLDEN", os.path.join(ROOT, "..", "shared", "golden")))
    args = ap.parse_args()
    import diffusers
    import transformers
    print("torch %s, diffusers %s, transformers %s" % (torch.__version__, diffusers.__version__, transformers.__version__))
    for flavour, files, pad in (("sd15", sd15(), "<|endoftext|>"), ("sd21", sd21(), "!")):
        print(flavour)
        make(flavour, files, args.golden, pad)


if __name__ == "__main__":
    sys.exit(main())
