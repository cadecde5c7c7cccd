#!/usr/bin/env python3
"""Makes the repository's trimmed golden copy (golden/) from the public golden set (../shared/golden, ../shared/videos).

Usage: python3 scripts/golden-trim.py [SHARED_GOLDEN [SHARED_VIDEOS]]   (defaults: ../shared/golden, ../shared/videos)

Files are copied byte for byte; nothing is recomputed. Two model files that repeat tiny-sd-a's tensors under other
names (the tuned UNet, the single-file LDM checkpoint) are not copied whole: golden/rebuild.json lists, for each,
its SHA-256, its header bytes (golden/rebuild/*.header) and, in data order, where each tensor's bytes are found (tiny-sd-a's files,
or golden/rebuild/*.extra.safetensors for the tensors tuning changed). The tests rebuild them on first use and
check the SHA-256 (GoldenData), so they read the official files' exact bytes.
"""
import hashlib
import json
import os
import shutil
import struct
import sys

CASES = ["a-tokenize", "a-text-encode", "a-vae", "a-unet3d", "a-unet3d-inflated", "a-ddim", "a-train", "a-pipeline", "a-lora"]
COPIED_MODELS = ["tiny-sd-a"]
REBUILT = {  # file under models/ -> the files whose tensors it repeats
    "tiny-tuned-a/unet/diffusion_pytorch_model.safetensors": ["tiny-sd-a/unet/diffusion_pytorch_model.safetensors",
                                                              "tiny-sd-a/temporal_init.safetensors"],
    "tiny-sd-a.ldm.safetensors": ["tiny-sd-a/unet/diffusion_pytorch_model.safetensors",
                                  "tiny-sd-a/vae/diffusion_pytorch_model.safetensors",
                                  "tiny-sd-a/text_encoder/model.safetensors"],
}
COPIED_SMALL = ["tiny-tuned-a/unet/config.json"]  # beside a rebuilt file, copied as is
VIDEOS = ["man-skiing.mp4", "car-turn.mp4"]


def read_st(path):
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    return b, n, json.loads(b[8:8 + n])


def tensors(b, n, h):
    for k, v in h.items():
        if k != "__metadata__":
            a, e = v["data_offsets"]
            yield k, v, b[8 + n + a:8 + n + e]


def write_st(path, entries):
    """A safetensors file of (name, dtype, shape, bytes), the bytes as given."""
    header, off, blobs = {}, 0, []
    for name, dtype, shape, data in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
        blobs.append(data)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))


def main():
    src = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "../shared/golden")
    vids = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(src, "..", "videos"))
    dst = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden")
    for sub in ["cases", "models", "videos", "rebuild"]:
        shutil.rmtree(os.path.join(dst, sub), ignore_errors=True)
    for c in CASES:
        shutil.copytree(os.path.join(src, "cases", c), os.path.join(dst, "cases", c))
    for m in COPIED_MODELS:
        shutil.copytree(os.path.join(src, "models", m), os.path.join(dst, "models", m))
    os.makedirs(os.path.join(dst, "videos"))
    for v in VIDEOS:
        shutil.copyfile(os.path.join(vids, v), os.path.join(dst, "videos", v))
    os.makedirs(os.path.join(dst, "rebuild"))
    entries = []
    for f in COPIED_SMALL:
        name = f.replace("/", ".")
        shutil.copyfile(os.path.join(src, "models", f), os.path.join(dst, "rebuild", name))
        data = open(os.path.join(src, "models", f), "rb").read()
        entries.append({"path": "models/" + f, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                        "copy": "rebuild/" + name})
    for target, sources in REBUILT.items():
        found = {}
        for s in sources:
            for k, _, data in tensors(*read_st(os.path.join(src, "models", s))):
                found.setdefault(hashlib.sha256(data).digest(), ("models/" + s, k))
        b, n, h = read_st(os.path.join(src, "models", target))
        name = target.replace("/", ".")
        extra, where = [], {}
        for k, v, data in sorted(tensors(b, n, h), key=lambda t: t[1]["data_offsets"][0]):
            hit = found.get(hashlib.sha256(data).digest())
            if hit is None:
                extra.append((k, v["dtype"], v["shape"], data))
                hit = ("rebuild/" + name + ".extra.safetensors", k)
            where[k] = list(hit)
        with open(os.path.join(dst, "rebuild", name + ".header"), "wb") as f:
            f.write(b[:8 + n])
        if extra:
            write_st(os.path.join(dst, "rebuild", name + ".extra.safetensors"), extra)
        srcs = sorted({w[0] for w in where.values()})
        # in data order: [source index, its tensor name (left out where it is the same name)]
        listed = [[srcs.index(w[0])] + ([] if w[1] == k else [w[1]]) for k, w in where.items()]
        entries.append({"path": "models/" + target, "size": len(b), "sha256": hashlib.sha256(b).hexdigest(),
                        "header": "rebuild/" + name + ".header", "sources": srcs, "tensors": listed})
        print(f"{target}: {len(where)} tensors, {len(extra)} kept in rebuild/ ({sum(len(e[3]) for e in extra)} bytes)")
    with open(os.path.join(dst, "rebuild.json"), "w") as f:
        # one line per file entry, tensors included: a short file that diffs well
        f.write('{"files": [\n' + ",\n".join(json.dumps(e, separators=(",", ":")) for e in entries) + "\n]}\n")


if __name__ == "__main__":
    main()
