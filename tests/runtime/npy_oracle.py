"""npy_oracle.py - runtime/npy.c against numpy and ml_dtypes.

numpy writes files of every tdc dtype at ranks 0 to 16 and empty shapes, in
format versions 1.0, 2.0 and 3.0 (np.save and np.lib.format.write_array);
the C reader must return their dtype, shape and bytes exactly. The C writer
writes the same arrays; np.load must give them back bit for bit (bf16 and
f8e4m3 come back as numpy void arrays, as np.save's own files of them do, and
are viewed as their ml_dtypes type), and apart from f8e5m2 our files must be
np.save's byte for byte. Files numpy writes for what tdc does not read
(big-endian, complex, objects, Fortran order, records, strings) must fail
with a message that says why.

The C side is tests/runtime/npy_probe_main.c, compiled here with npy.c,
file_io.c and ctx.c (with the sanitizers when the build under test has them) and fed one
command a line, so all of it takes one compile and one process.
"""
import io
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = "npy oracle"

SHAPES = [(), (0,), (7,), (2, 3), (2, 0, 3), (1, 2, 3, 1), (2, 1, 2, 1, 3), (1, 2, 1, 2, 1, 2), (17, 33),
          (1,) * 15 + (3,)]


def compile_probe(r, build_dir, tmp):
    return probe.compile_probe(r, NAME, build_dir, tmp,
                               ["tests/runtime/npy_probe_main.c", "runtime/npy.c", "runtime/file_io.c", "runtime/ctx.c"])


run_probe = probe.run_probe


def dtypes(np, ml):
    """(tdc name, numpy dtype) for every tdc dtype numpy can hold here."""
    out = [("f64", np.dtype("<f8")), ("f32", np.dtype("<f4")), ("f16", np.dtype("<f2")),
           ("i64", np.dtype("<i8")), ("i32", np.dtype("<i4")), ("u16", np.dtype("<u2")), ("bool", np.dtype("|b1"))]
    if ml is not None:
        out += [("bf16", np.dtype(ml.bfloat16)), ("f8e4m3", np.dtype(ml.float8_e4m3fn)),
                ("f8e5m2", np.dtype(ml.float8_e5m2))]
    return out


def sample(np, rng, dtype, shape):
    """Every bit pattern is fair (NaN payloads, infinities, subnormals), so
    the bytes are random; bools are 0 or 1."""
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if dtype == np.dtype("|b1"):
        return (rng.integers(0, 2, size=n, dtype=np.uint8).astype(bool)).reshape(shape)
    raw = rng.integers(0, 256, size=n * dtype.itemsize, dtype=np.uint8)
    return raw.view(dtype).reshape(shape)


def run(r, build_dir):
    try:
        import numpy as np
    except ImportError:
        r.fail(NAME, "numpy is missing: pip install numpy (tools/deps.sh installs it)")
        return
    try:
        import ml_dtypes as ml
    except ImportError:
        r.fail(NAME, "ml_dtypes is missing, so bf16 and FP8 files go unchecked: pip install ml_dtypes "
                     "(tools/deps.sh installs it)")
        ml = None
    rng = np.random.default_rng(20240607)
    with tempfile.TemporaryDirectory() as tmp:
        exe = compile_probe(r, build_dir, tmp)
        if exe is None:
            return
        try:
            numpy_writes(r, np, ml, rng, exe, tmp)
            c_writes(r, np, ml, rng, exe, tmp)
            rejected(r, np, exe, tmp)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            r.fail(NAME, str(e))


def numpy_writes(r, np, ml, rng, exe, tmp):
    """numpy writes, C reads."""
    cases, commands = [], []
    for name, dtype in dtypes(np, ml):
        for shape in SHAPES:
            a = sample(np, rng, dtype, shape)
            for version in (None, (1, 0), (2, 0), (3, 0)):
                path = os.path.join(tmp, f"np_{len(cases)}.npy")
                if version is None:
                    np.save(path, a)
                else:
                    with open(path, "wb") as f:
                        np.lib.format.write_array(f, a, version=version)
                cases.append((f"numpy {name} {shape} version {version or 'np.save'}", name, version, a))
                commands.append(f"read {path} {path}.raw")
    for (label, name, version, a), answer, command in zip(cases, run_probe(exe, commands), commands):
        want = f"ok {name} {(version or (1, 0))[0]} {a.ndim}" + "".join(f" {d}" for d in a.shape)
        if answer != want:
            r.fail(NAME, f"{label}: the C reader says '{answer}', expected '{want}'")
            continue
        with open(command.split()[2], "rb") as f:
            got = f.read()
        if got != a.tobytes():
            r.fail(NAME, f"{label}: the C reader's bytes differ from numpy's")
        else:
            r.ok(label)


def c_writes(r, np, ml, rng, exe, tmp):
    """C writes, numpy loads."""
    cases, commands = [], []
    for name, dtype in dtypes(np, ml):
        for shape in SHAPES:
            a = sample(np, rng, dtype, shape)
            raw = os.path.join(tmp, f"c_{len(cases)}.raw")
            path = os.path.join(tmp, f"c_{len(cases)}.npy")
            with open(raw, "wb") as f:
                f.write(a.tobytes())
            cases.append((f"C writes {name} {shape}", name, a, path))
            commands.append(f"write {path} {name} {raw} {a.ndim}" + "".join(f" {d}" for d in a.shape))
    for (label, name, a, path), answer in zip(cases, run_probe(exe, commands)):
        if answer != "ok":
            r.fail(NAME, f"{label}: the C writer says '{answer}'")
            continue
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
        try:
            b = np.load(path)
        except Exception as e:  # any refusal is the finding
            r.fail(NAME, f"{label}: np.load refuses our file: {e!r}")
            continue
        if b.dtype.kind == "V" and b.dtype.itemsize == a.dtype.itemsize:
            b = b.view(a.dtype)  # what np.save's own bf16 / float8_e4m3fn files need too
        if version != (1, 0) or b.dtype != a.dtype or b.shape != a.shape or b.tobytes() != a.tobytes():
            r.fail(NAME, f"{label}: np.load gives version {version}, {b.dtype} {b.shape}, "
                         f"{'same' if b.tobytes() == a.tobytes() else 'different'} bytes")
            continue
        if name != "f8e5m2":  # np.save writes '<f1' for it, which np.load cannot read
            buf = io.BytesIO()
            np.save(buf, a)
            with open(path, "rb") as f:
                if f.read() != buf.getvalue():
                    r.fail(NAME, f"{label}: our file is not byte for byte np.save's")
                    continue
        r.ok(label)


def rejected(r, np, exe, tmp):
    """Files numpy writes for what tdc does not read."""
    cases = [
        ("big-endian", np.arange(6, dtype=">f4").reshape(2, 3), ["unsupported dtype '>f4'", "big-endian",
                                                                 "byte offset 20"]),
        ("complex", np.ones(3, dtype="<c8"), ["unsupported dtype '<c8'", "complex"]),
        ("objects", np.array([1, "a", None], dtype=object), ["unsupported dtype '|O'", "Python objects"]),
        ("Fortran order", np.asfortranarray(np.ones((2, 3), "<f4")),
         ["Fortran order is not supported; save with np.ascontiguousarray", "byte offset"]),
        ("records", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]), ["unsupported dtype", "structured"]),
        ("strings", np.array(["ab", "c"]), ["unsupported dtype '<U2'", "strings"]),
        ("uint32", np.ones(2, "<u4"), ["unsupported dtype '<u4'", "not one of tdc's element types"]),
        ("int8", np.ones(2, "|i1"), ["unsupported dtype '|i1'"]),
    ]
    commands = []
    for i, (label, a, _) in enumerate(cases):
        path = os.path.join(tmp, f"bad_{i}.npy")
        np.save(path, a, allow_pickle=True)
        commands.append(f"read {path} {path}.raw")
    # a truncated np.save file: the message counts the bytes
    short = os.path.join(tmp, "short.npy")
    np.save(short, np.ones((4, 4), "<f8"))
    with open(short, "r+b") as f:
        f.truncate(128 + 100)
    cases.append(("truncated", None, ["data too short", "shape (4, 4) of <f8 needs 128 bytes from byte offset 128",
                                      "found 100"]))
    commands.append(f"read {short} {short}.raw")
    for (label, _, words), answer in zip(cases, run_probe(exe, commands)):
        missing = [w for w in words if w not in answer]
        if not answer.startswith("error ") or missing:
            r.fail(NAME, f"numpy's {label} file: expected an error with {missing}, got '{answer}'")
        else:
            r.ok(f"rejects {label}")
