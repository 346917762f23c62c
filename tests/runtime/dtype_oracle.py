"""dtype_oracle.py - runtime/dtype.c's float conversions against numpy
(float16) and ml_dtypes (bfloat16, float8_e4m3fn, float8_e5m2), bit for bit.

Called by the runtime suite of tests/run_tests.py as run(r, build_dir). It
compiles tests/runtime/dtype_probe_main.c with runtime/dtype.c into a
temporary probe (the test binary has no hook for extra programs), feeds it a
deterministic set of about half a million f32 values and compares:

  narrowing  f32 -> each format, per kind of input: random bit patterns;
             every code of each format, the midpoints between neighbouring
             codes (the ties) and the f32 values one ulp either side of
             them, including the midpoint just past the largest finite value
             (where overflow starts); f32 subnormals; huge values; infinities;
             NaNs with assorted payloads and both signs.
  widening   every code of each format -> f32.

Results must match bit for bit, NaNs included, with one exception: where
numpy's float16 narrows a NaN, ours need only be a NaN of the same sign
(numpy keeps the top payload bits, and whether it does depends on its
build's use of F16C; ours is the canonical quiet NaN, as ml_dtypes gives).
Each (format, direction, kind) is one check.
"""
import os
import shutil
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = 20240611


def run(r, build_dir):
    try:
        import numpy as np
    except ImportError:
        r.fail("dtype_oracle", "numpy is not importable (tools/deps.sh installs it)")
        return
    try:
        import ml_dtypes
    except ImportError:
        r.fail("dtype_oracle", "ml_dtypes is not importable: `pip install ml_dtypes` is needed (tools/deps.sh)")
        return
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        r.fail("dtype_oracle", "no C compiler (cc) to build the probe")
        return

    # (name, numpy dtype, unsigned integer view, reference)
    formats = [
        ("f16", np.dtype(np.float16), np.uint16, "numpy"),
        ("bf16", np.dtype(ml_dtypes.bfloat16), np.uint16, "ml_dtypes"),
        ("f8e4m3", np.dtype(ml_dtypes.float8_e4m3fn), np.uint8, "ml_dtypes"),
        ("f8e5m2", np.dtype(ml_dtypes.float8_e5m2), np.uint8, "ml_dtypes"),
    ]
    kinds = inputs(np, formats)
    order = list(kinds)
    x = np.concatenate([kinds[k] for k in order]).astype(np.uint32)
    n = len(x)

    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, "probe")
        p = subprocess.run([cc, "-std=c11", "-O1", "-I", os.path.join(ROOT, "runtime"),
                            os.path.join(ROOT, "tests/runtime/dtype_probe_main.c"),
                            os.path.join(ROOT, "runtime/dtype.c"), "-lm", "-o", probe],
                           capture_output=True, text=True)
        if p.returncode != 0:
            r.fail("dtype_oracle", f"the probe does not compile:\n{p.stderr}")
            return
        x.tofile(os.path.join(tmp, "in"))
        for args in (["narrow", "in", "narrowed"], ["widen", "widened"]):
            p = subprocess.run([probe] + args, cwd=tmp, capture_output=True, text=True, timeout=60)
            if p.returncode != 0:
                r.fail("dtype_oracle", f"probe {args[0]} failed (exit {p.returncode}): {p.stderr}")
                return
        raw = np.fromfile(os.path.join(tmp, "narrowed"), dtype=np.uint8)
        widened = np.fromfile(os.path.join(tmp, "widened"), dtype=np.uint32)

    if len(raw) != 6 * n or len(widened) != 2 * 65536 + 2 * 256:
        r.fail("dtype_oracle", f"probe output has the wrong size ({len(raw)}, {len(widened)})")
        return

    # the probe's planes: f16, bf16 (2 bytes each), then the two f8 (1 byte)
    ours, at = {}, 0
    for name, _, view, _ in formats:
        size = np.dtype(view).itemsize
        ours[name] = raw[at:at + size * n].view(view)
        at += size * n

    xf = x.view(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        for name, dt, view, ref in formats:
            want = xf.astype(dt).view(view)
            start = 0
            for kind in order:
                end = start + len(kinds[kind])
                compare(np, r, f"dtype_oracle {name} narrow {kind} (vs {ref})", dt, view,
                        xf[start:end], ours[name][start:end], want[start:end], any_nan=ref == "numpy")
                start = end

        at = 0
        for name, dt, view, ref in formats:
            count = 1 << (8 * np.dtype(view).itemsize)
            codes = np.arange(count, dtype=view)
            want = codes.view(dt).astype(np.float32).view(np.uint32)
            compare(np, r, f"dtype_oracle {name} widen all {count} codes (vs {ref})", np.dtype(np.float32),
                    np.uint32, codes, widened[at:at + count], want, any_nan=False)
            at += count


def compare(np, r, name, dt, view, inputs, got, want, any_nan):
    """Bits must match, or with any_nan both be NaNs of one sign."""
    got_nan = np.isnan(got.view(dt).astype(np.float32))
    want_nan = np.isnan(want.view(dt).astype(np.float32))
    sign = view(1) << view(8 * np.dtype(view).itemsize - 1)
    same_sign = (got & sign) == (want & sign)
    ok = (got == want) | (any_nan & got_nan & want_nan & same_sign)
    bad = np.flatnonzero(~ok)
    if len(bad) == 0:
        r.ok(name)
        return
    width = 2 * np.dtype(view).itemsize
    shown = ", ".join(f"0x{int(inputs.view(np.uint32)[i]) if inputs.dtype.itemsize == 4 else int(inputs[i]):x}"
                      f" -> 0x{int(got[i]):0{width}x} (want 0x{int(want[i]):0{width}x})" for i in bad[:5])
    r.fail(name, f"{len(bad)} of {len(inputs)} differ: {shown}")


def inputs(np, formats):
    """The f32 bit patterns to narrow, by kind, deterministic."""
    rng = np.random.default_rng(SEED)
    kinds = {}
    kinds["random bits"] = rng.integers(0, 1 << 32, size=200_000, dtype=np.uint64).astype(np.uint32)

    # The ties: for each format, its finite codes, the midpoints between
    # neighbours (and past the largest finite value, one ulp further), and
    # the f32 values one ulp either side. Exact in float64, and every
    # midpoint has few enough bits to be an f32.
    boundary = []
    for name, dt, view, _ in formats:
        count = 1 << (8 * np.dtype(view).itemsize - 1)
        codes = np.arange(count, dtype=view)
        with np.errstate(invalid="ignore"):
            values = codes.view(dt).astype(np.float64)
        values = values[np.isfinite(values)]
        values = np.append(values, values[-1] + (values[-1] - values[-2]))  # one ulp past the max
        mids = ((values[:-1] + values[1:]) / 2).astype(np.float32)
        assert np.all(mids.astype(np.float64) == (values[:-1] + values[1:]) / 2), name
        exact = values[:-1].astype(np.float32)
        pts = np.concatenate([exact, mids, np.nextafter(mids, np.float32(0)), np.nextafter(mids, np.float32(np.inf))])
        boundary.append(pts.view(np.uint32))
    b = np.concatenate(boundary)
    # each value once with each sign, so both signs round the same way
    kinds["codes and ties"] = np.concatenate([b, b | np.uint32(0x80000000)])

    sub = rng.integers(0, 1 << 23, size=20_000, dtype=np.uint64).astype(np.uint32)  # f32 subnormals
    sub[:4] = [0, 1, 0x7fffff, 0x400000]
    sub[::2] |= np.uint32(0x80000000)
    kinds["f32 subnormals"] = sub

    # magnitudes from 2^10 to FLT_MAX: past every format's range but bf16's
    big = rng.integers(0x44800000, 0x7f800000, size=20_000, dtype=np.uint64).astype(np.uint32)
    big[:2] = [0x7f7fffff, 0x7f7f7fff]
    big[1::2] |= np.uint32(0x80000000)
    kinds["large and overflowing"] = big

    nan_payloads = [0x400000, 0x000001, 0x7fffff, 0x000100, 0x200000, 0x400001, 0x002000, 0x1fffff]
    specials = [0x7f800000, 0xff800000, 0x00000000, 0x80000000]
    specials += [0x7f800000 | p for p in nan_payloads] + [0xff800000 | p for p in nan_payloads]
    kinds["infinities, zeros and NaNs"] = np.array(specials, dtype=np.uint32)
    return kinds
