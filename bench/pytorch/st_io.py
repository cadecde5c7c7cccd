"""Reading safetensors files: the `safetensors` library when it is importable, else a small reader of the format
(8-byte little-endian header length, JSON header, raw little-endian data) with numpy and torch."""

import json
import struct
import sys

import numpy as np
import torch

_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64,
           "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
           "BOOL": torch.bool}
_NUMPY = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
          "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}

_warned = False


def load_file(path):
    """Every tensor of a safetensors file, by name, on the CPU in its stored dtype."""
    global _warned
    try:
        from safetensors.torch import load_file as lib_load
    except ImportError as e:
        if not _warned:
            print(f"note: the safetensors library is not importable ({e}); using the built-in reader", file=sys.stderr)
            _warned = True
        return _read(path)
    return lib_load(path)


def _read(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: {len(raw)} bytes, too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} runs past the end of the file ({len(raw)} bytes)")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = memoryview(raw)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, shape, (start, end) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {dtype}, which this reader does not know")
        if end > len(data) or start > end:
            raise ValueError(f"{path}: tensor {name} offsets {start}..{end} outside the data ({len(data)} bytes)")
        buf = data[start:end]
        if dtype == "BF16":  # numpy has no bfloat16: widen the raw 16 bits into the top half of a float32
            bits = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            t = torch.from_numpy(bits.view(np.float32).copy()).to(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(buf, dtype=np.dtype(_NUMPY[dtype]).newbyteorder("<")).copy())
        out[name] = t.reshape(shape)
    return out


def save_file(tensors, path):
    """Writes float32 tensors as a safetensors file (the library when importable, else the format by hand)."""
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in tensors.items()}
    try:
        from safetensors.torch import save_file as lib_save
    except ImportError:
        lib_save = None
    if lib_save is not None:
        lib_save(tensors, path)
        return
    header, offset = {}, 0
    for k, v in tensors.items():
        n = v.numel() * 4
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for v in tensors.values():
            f.write(v.numpy().astype("<f4").tobytes())
