#!/usr/bin/env python3
"""make_text_data.py - token files for examples/charlm.td from the project's own text.

    python3 tools/make_text_data.py OUT_DIR [FILES...]

Reads the given files (default: the repository's docs/*.md, README.md and
examples/*.td), joins them, and writes byte-level tokens (vocab 256) in
llm.c's format (a header of 256 little-endian int32: magic 20240520,
version 1, the token count; then uint16 tokens) as OUT_DIR/train.bin (the
first 90%) and OUT_DIR/val.bin (the rest)."""
import glob
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAGIC, VERSION = 20240520, 1


def write_tokens(path, tokens):
    header = np.zeros(256, dtype="<i4")
    header[0], header[1], header[2] = MAGIC, VERSION, len(tokens)
    with open(path, "wb") as f:
        f.write(header.tobytes())
        f.write(np.asarray(tokens, dtype="<u2").tobytes())


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out = sys.argv[1]
    files = sys.argv[2:] or sorted(glob.glob(os.path.join(ROOT, "docs/*.md")) + [os.path.join(ROOT, "README.md")] +
                                   glob.glob(os.path.join(ROOT, "examples/*.td")))
    data = b"\n".join(open(p, "rb").read() for p in files)
    tokens = np.frombuffer(data, dtype=np.uint8).astype(np.uint16)
    split = len(tokens) * 9 // 10
    os.makedirs(out, exist_ok=True)
    write_tokens(os.path.join(out, "train.bin"), tokens[:split])
    write_tokens(os.path.join(out, "val.bin"), tokens[split:])
    print(f"{len(files)} files, {len(tokens)} bytes: {split} training tokens, {len(tokens) - split} validation tokens in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
