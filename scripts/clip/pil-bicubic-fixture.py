#!/usr/bin/env python3
"""Writes model/src/test/resources/dev/tav4j/model/clip/pil-bicubic.txt: Pillow's Image.resize(..., BICUBIC) of a
synthetic RGB image (the same formula as PilBicubicTest.source) to several sizes, as base64 lines.

PilBicubicTest checks dev.tav4j.model.clip.PilBicubic against these bytes, bit for bit. Needs only Pillow
(Debian: apt-get install python3-pil; run with /usr/bin/python3). Made with Pillow 9.4.0.
"""
import base64
import os
import sys

import PIL
from PIL import Image

W, H = 61, 47
# (width, height) targets: CLIP's shortest side 24 of 61x47 (31x24), a strong shrink, up both ways,
# vertical only, horizontal only, LOVEU's straight resize shape (square)
TARGETS = [(31, 24), (7, 5), (80, 64), (61, 20), (17, 47), (40, 40)]


def source():
    data = bytearray(W * H * 3)
    for y in range(H):
        for x in range(W):
            for c in range(3):
                if x < W // 2:  # hash noise: overshoot, clipping at 0 and 255
                    h = ((x * 73856093) ^ (y * 19349663) ^ (c * 83492791)) & 0xFFFFFFFF
                    v = (h >> 11) & 255
                else:  # gradients with hard-edged blocks
                    v = (x * 4 + y * 3 + c * 40) & 255
                    if (x // 5 + y // 7) % 2:
                        v = 255 - v
                data[(y * W + x) * 3 + c] = v
    return bytes(data)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "model", "src", "test",
                                                            "resources", "dev", "tav4j", "model", "clip", "pil-bicubic.txt")
    img = Image.frombytes("RGB", (W, H), source())
    lines = ["# Pillow %s Image.resize(BICUBIC) of PilBicubicTest.source() (%dx%d); made by scripts/clip/pil-bicubic-fixture.py"
             % (PIL.__version__, W, H)]
    for w, h in TARGETS:
        r = img.resize((w, h), Image.BICUBIC)
        lines.append("%dx%d %s" % (w, h, base64.b64encode(r.tobytes()).decode("ascii")))
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
