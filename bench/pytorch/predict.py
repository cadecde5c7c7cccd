"""One UNet3D forward in PyTorch, for checking tav4j against it on the same weights:

    python predict.py --unet DIR --inputs IN.safetensors --out OUT.safetensors [--device cpu]

IN holds `sample` (B, C, F, H, W), `timestep` (1 or B values) and `encoder_hidden_states` (B, 77, D); OUT gets
`eps` (B, C, F, H, W), float32. Exit status 3 when torch cannot be imported."""

import argparse
import os
import sys

try:
    import torch
except ImportError as _e:
    print(f"predict.py: cannot import torch with {sys.executable}: {_e}", file=sys.stderr)
    sys.exit(3)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tav_unet3d  # noqa: E402
from st_io import load_file, save_file  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--unet", required=True)
    p.add_argument("--inputs", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    if a.device == "cpu":
        torch.backends.nnpack.set_flags(False)
    model = tav_unet3d.load(a.unet, device=a.device).eval()
    t = load_file(a.inputs)
    with torch.no_grad():
        eps = model(t["sample"].float().to(a.device), t["timestep"].to(a.device), t["encoder_hidden_states"].float().to(a.device))
    save_file({"eps": eps}, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
