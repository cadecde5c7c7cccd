"""Runs the unet3d golden cases (the official implementation's outputs, computed in float64) through tav_unet3d and
prints max|got − ref| / max|ref| per output: this is how we know the PyTorch side of the bench runs the same work.

    python check_golden.py [GOLDEN_DIR]      # default $TAV_GOLDEN, else ../../../shared/golden

Exit status 1 when an error is over the tolerance (1e-4, the bound for forward tensors of docs/semantics.md; fp32 lands ~1e-6)."""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tav_unet3d  # noqa: E402
from st_io import load_file  # noqa: E402

TOLERANCE = 1e-4


def rel_err(got, ref):
    return ((got.double() - ref.double()).abs().max() / ref.double().abs().max()).item()


def resolve(case_dir, relative):
    """A case path: against the case folder, else against the cases folder (how the data set writes them)."""
    direct = os.path.normpath(os.path.join(case_dir, relative))
    return direct if os.path.exists(direct) else os.path.normpath(os.path.join(case_dir, "..", relative))


def run_case(case_dir):
    with open(os.path.join(case_dir, "case.json")) as f:
        case = json.load(f)
    if case.get("unet"):
        model = tav_unet3d.load(os.path.join(resolve(case_dir, case["unet"]), "unet"))
    else:
        model = tav_unet3d.load(os.path.join(resolve(case_dir, case["model"]), "unet"), resolve(case_dir, case["unet_temporal_init"]))
    model.eval()
    t = load_file(os.path.join(case_dir, "tensors.safetensors"))
    results = []
    with torch.no_grad():
        eps = model(t["sample"], t["timestep"], t["encoder_hidden_states"])
        results.append(("eps", rel_err(eps, t["eps"])))
        if "eps_1frame" in t:
            e1 = model(t["sample_1frame"], t["timestep_1frame"], t["encoder_hidden_states"][:1])
            results.append(("eps_1frame", rel_err(e1, t["eps_1frame"])))
    return results


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    golden = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TAV_GOLDEN", os.path.join(here, "../../../shared/golden"))
    cases = os.path.join(golden, "cases")
    if not os.path.isdir(cases):
        print(f"no golden data at {golden} (give the folder as the argument or set TAV_GOLDEN)", file=sys.stderr)
        return 2
    torch.backends.nnpack.set_flags(False)  # CPU only; silences "Could not initialize NNPACK" on CPUs it does not know
    worst, ran = 0.0, 0
    for name in sorted(os.listdir(cases)):
        d = os.path.join(cases, name)
        try:
            with open(os.path.join(d, "case.json")) as f:
                op = json.load(f).get("op")
        except OSError:
            continue
        if op != "unet3d":
            continue
        for out, err in run_case(d):
            ran += 1
            worst = max(worst, err)
            print(f"{name:24s} {out:12s} max rel error {err:.2e}{'' if err <= TOLERANCE else '  OVER ' + str(TOLERANCE)}")
    if ran == 0:
        print(f"{cases}: no unet3d cases", file=sys.stderr)
        return 2
    print(f"torch {torch.__version__}: {ran} outputs, worst {worst:.2e} (tolerance {TOLERANCE:g})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
