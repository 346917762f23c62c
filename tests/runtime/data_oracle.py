"""data_oracle.py - runtime/data.c against numpy.

Token files are written as their authors' scripts write them: llm.c's
dev/data/data_common.py write_datafile (a np.int32 header of 256 values,
magic 20240520, version 1, the count, then np.uint16 tokens), and nanoGPT's
data/*/prepare.py (np.uint16 tokens with ndarray.tofile, or through
np.memmap as openwebtext's does). The C side draws batches through a small
probe; the window offsets are computed here independently, from
docs/RUNTIME.md "Training data" with a Philox 4x32-10 written in Python
(checked against Random123's known answers), and x and y must equal numpy's
slices tok[i:i+T] and tok[i+1:i+T+1] at those offsets, as nanoGPT's get_batch
forms them. Sequential batches follow the documented cursor rule, rows of
.npy files written by np.save must equal numpy's indexing, and files the
scripts write wrongly (cut short, llama-3 tokens, an odd raw length) must be
refused with the byte offsets in the message.

The C side is tests/runtime/data_probe_main.c, compiled here with data.c,
npy.c, file_io.c, rng.c, dtype.c and ctx.c (with the sanitizers when the build under
test has them) and fed one command a line.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe  # noqa: E402

NAME = "data oracle"
M32 = 0xFFFFFFFF


def compile_probe(r, build_dir, tmp):
    return probe.compile_probe(r, NAME, build_dir, tmp,
                               ["tests/runtime/data_probe_main.c", "runtime/data.c", "runtime/npy.c", "runtime/file_io.c",
                                "runtime/rng.c", "runtime/dtype.c", "runtime/ctx.c"])


# ---- Philox 4x32-10 and the documented offset mapping ----

def philox4x32_10(ctr, key):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for rnd in range(10):
        if rnd:
            k0, k1 = (k0 + 0x9E3779B9) & M32, (k1 + 0xBB67AE85) & M32
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & M32, p1 & M32, ((p0 >> 32) ^ c3 ^ k1) & M32, p0 & M32
    return [c0, c1, c2, c3]


def word(seed, j):
    block = j // 4
    return philox4x32_10([block & M32, block >> 32, 0, 0], [seed & M32, seed >> 32])[j % 4]


def starts(seed, offset, count, m):
    """Draw k of a call at `offset`: floor(r * m / 2^64), r = word(o + 2k) + 2^32 word(o + 2k + 1)."""
    out = []
    for k in range(count):
        r = word(seed, offset + 2 * k) | word(seed, offset + 2 * k + 1) << 32
        out.append((r * m) >> 64)
    return out


def kat(r):
    """Random123's kat_vectors for philox4x32 10."""
    cases = [([0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]),
             ([M32] * 4, [M32] * 2, [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]),
             ([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0],
              [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1])]
    for i, (ctr, key, want) in enumerate(cases):
        if philox4x32_10(ctr, key) != want:
            r.fail(NAME, f"the Python Philox misses Random123's known answer {i}")
            return False
    r.ok("Python Philox: Random123's known answers")
    return True


# ---- files as llm.c and nanoGPT write them ----

def write_llmc(np, path, toks, magic=20240520, version=1, token_dtype=None, count=None):
    """llm.c's write_datafile, with knobs to write it wrong."""
    header = np.zeros(256, dtype=np.int32)
    header[0] = magic
    header[1] = version
    header[2] = len(toks) if count is None else count
    toks_np = np.array(toks, dtype=token_dtype or np.uint16)
    with open(path, "wb") as f:
        f.write(header.tobytes())
        f.write(toks_np.tobytes())


def write_nanogpt(np, path, toks, memmap=False):
    ids = np.array(toks, dtype=np.uint16)
    if memmap:  # data/openwebtext/prepare.py
        arr = np.memmap(path, dtype=np.uint16, mode="w+", shape=(len(ids),))
        arr[:] = ids
        arr.flush()
        del arr
    else:  # data/shakespeare_char/prepare.py
        ids.tofile(path)


NP_TYPES = {"i32": "<i4", "i64": "<i8", "u16": "<u2"}


def token_files(np, rng, tmp):
    """(label, path, tokens) for files of several sizes, both layouts."""
    out = []
    for n in (2, 17, 1000, 70000):
        toks = rng.integers(0, 50257, size=n).astype(np.uint16)
        toks[rng.integers(0, n)] = 65535  # the top of the range, where sign extension would show
        path = os.path.join(tmp, f"llmc_{n}.bin")
        write_llmc(np, path, toks)
        out.append((f"llm.c file of {n} tokens", path, toks))
        path = os.path.join(tmp, f"nano_{n}.bin")
        write_nanogpt(np, path, toks, memmap=n == 1000)
        out.append((f"nanoGPT file of {n} tokens", path, toks))
    return out


# ---- the checks ----

def opens(r, np, exe, files):
    commands = [f"open {path}" for _, path, _ in files]
    for (label, path, toks), answer in zip(files, probe.run_probe(exe, commands)):
        want = f"ok {'llmc' if 'llmc' in path else 'raw'} {len(toks)}"
        if answer != want:
            r.fail(NAME, f"{label}: open says '{answer}', expected '{want}'")
        else:
            r.ok(f"opens {label}")


def random_batches(r, np, rng, exe, tmp, files):
    cases, commands = [], []
    for label, path, toks in files:
        n = len(toks)
        for T in sorted({1, min(8, n - 1), n - 1}):
            for dtype in ("i32", "i64", "u16"):
                seed, offset, B = int(rng.integers(0, 2**64, dtype=np.uint64)), int(rng.integers(0, 1000)), 1 + T % 5
                x, y = os.path.join(tmp, f"x{len(cases)}"), os.path.join(tmp, f"y{len(cases)}")
                cases.append((f"{label}: random B={B} T={T} {dtype} seed {seed} offset {offset}", toks, seed, offset,
                              B, T, dtype, x, y))
                commands.append(f"random {path} {seed} {offset} {B} {T} {dtype} {x} {y}")
    for case, answer in zip(cases, probe.run_probe(exe, commands)):
        label, toks, seed, offset, B, T, dtype, x, y = case
        if answer != f"ok {offset + 2 * B}":
            r.fail(NAME, f"{label}: the probe says '{answer}', expected 'ok {offset + 2 * B}'")
            continue
        ix = starts(seed, offset, B, len(toks) - T)
        want_x = np.stack([toks[i:i + T] for i in ix]).astype(NP_TYPES[dtype])  # nanoGPT's get_batch
        want_y = np.stack([toks[i + 1:i + 1 + T] for i in ix]).astype(NP_TYPES[dtype])
        got_x = np.fromfile(x, dtype=NP_TYPES[dtype]).reshape(B, T)
        got_y = np.fromfile(y, dtype=NP_TYPES[dtype]).reshape(B, T)
        if not (np.array_equal(got_x, want_x) and np.array_equal(got_y, want_y)):
            r.fail(NAME, f"{label}: x or y differ from numpy's slices at offsets {ix}")
        else:
            r.ok(label)


def sequential_batches(r, np, exe, tmp, files):
    """Runs of calls with the cursor carried over, one command each: two
    epochs from 0 where that is short, else a few calls from 0 and a few
    that cross the end. The model: if cursor + B T + 1 > n the batch starts
    at 0; the cursor then moves B T past the batch's start."""
    for label, path, toks in files:
        n = len(toks)
        for B, T in ((1, 1), (3, 5), (2, 7)):
            span = B * T
            if span + 1 > n:
                continue
            per_epoch = (n - 1) // span
            runs = [(0, 2 * per_epoch + 3)] if per_epoch <= 20 else [(0, 5), (n - 2 * span - 1, 5)]
            calls, commands = [], []
            for cursor, count in runs:
                for _ in range(count):
                    start = 0 if cursor + span + 1 > n else cursor
                    x, y = os.path.join(tmp, f"sx{len(calls)}"), os.path.join(tmp, f"sy{len(calls)}")
                    calls.append((cursor, start, x, y))
                    commands.append(f"seq {path} {cursor} {B} {T} i64 {x} {y}")
                    cursor = start + span
            for (cursor, start, x, y), answer in zip(calls, probe.run_probe(exe, commands)):
                want_x = np.stack([toks[start + b * T:start + b * T + T] for b in range(B)]).astype("<i8")
                want_y = np.stack([toks[start + b * T + 1:start + b * T + T + 1] for b in range(B)]).astype("<i8")
                if (answer != f"ok {start + span}"
                        or not np.array_equal(np.fromfile(x, "<i8").reshape(B, T), want_x)
                        or not np.array_equal(np.fromfile(y, "<i8").reshape(B, T), want_y)):
                    r.fail(NAME, f"{label}: sequential B={B} T={T} from cursor {cursor}: '{answer}', expected the "
                                 f"batch at {start} and 'ok {start + span}'")
                    break
            else:
                r.ok(f"{label}: sequential B={B} T={T}, {len(calls)} calls across the end")


def row_arrays(np, rng):
    arrays = [("f32", rng.standard_normal((9, 3, 4)).astype("<f4")),
              ("f64", rng.standard_normal((5,)).astype("<f8")),
              ("i64", rng.integers(-2**40, 2**40, size=(6, 2)).astype("<i8")),
              ("u16", rng.integers(0, 65536, size=(4, 1, 5)).astype("<u2")),
              ("bool", rng.integers(0, 2, size=(7, 3)).astype(bool)),
              ("f16", rng.standard_normal((3, 2, 2, 2)).astype("<f2")),
              ("i32", np.zeros((5, 0), "<i4"))]
    return arrays


def rows(r, np, rng, exe, tmp):
    for i, (name, a) in enumerate(row_arrays(np, rng)):
        path = os.path.join(tmp, f"rows_{i}.npy")
        np.save(path, a)
        dims = f"{a.ndim - 1}" + "".join(f" {d}" for d in a.shape[1:])
        label = f"np.save {name}{list(a.shape)}"
        answer = probe.run_probe(exe, [f"open {path}"])[0]
        if answer != f"ok npy {a.shape[0]}":
            r.fail(NAME, f"{label}: open says '{answer}'")
            continue
        out = os.path.join(tmp, "rows_out")
        seed, offset, B = int(rng.integers(0, 2**63)), int(rng.integers(0, 50)), 2 * a.shape[0] + 1
        answer = probe.run_probe(exe, [f"rows {path} {seed} {offset} 0 {B} {name} {out} {dims}"])[0]
        ix = starts(seed, offset, B, a.shape[0])
        got = np.fromfile(out, dtype=a.dtype).reshape((B,) + a.shape[1:])
        if answer != f"ok {offset + 2 * B} 0" or not np.array_equal(got, a[ix]):
            r.fail(NAME, f"{label}: random rows differ from numpy's a[{ix}] ('{answer}')")
        else:
            r.ok(f"{label}: random rows")
        B = max(1, a.shape[0] // 2)
        cursor, ok = 0, True
        for k in range(5):
            start = 0 if cursor + B > a.shape[0] else cursor
            answer = probe.run_probe(exe, [f"rows {path} - 0 {cursor} {B} {name} {out} {dims}"])[0]
            got = np.fromfile(out, dtype=a.dtype).reshape((B,) + a.shape[1:])
            if answer != f"ok 0 {start + B}" or not np.array_equal(got, a[start:start + B]):
                r.fail(NAME, f"{label}: sequential rows, call {k} from cursor {cursor}: '{answer}'")
                ok = False
                break
            cursor = start + B
        if ok:
            r.ok(f"{label}: sequential rows")


def refused(r, np, exe, tmp):
    """Files the scripts write wrongly, and how the C side must say so."""
    toks = np.arange(10, dtype=np.uint16)
    cases = []

    def case(label, name, write, words):
        path = os.path.join(tmp, name)
        write(path)
        cases.append((label, path, words))

    case("an llm.c file cut short", "cut.bin", lambda p: write_llmc(np, p, toks, count=12),
         ["counts 12 tokens (byte 8), which end at byte 1048", "the file ends at byte 1044"])
    case("an llm.c file with extra tokens", "long.bin", lambda p: write_llmc(np, p, toks, count=9),
         ["2 bytes after the 9 tokens", "from byte 1042"])
    case("llm.c's llama-3 format", "llama.bin",
         lambda p: write_llmc(np, p, toks, magic=20240801, version=7, token_dtype=np.uint32),
         ["llama-3 format (magic 20240801 at byte 0"])
    case("an llm.c file of version 2", "v2.bin", lambda p: write_llmc(np, p, toks, version=2),
         ["llm.c version 2 at byte 4"])
    case("a header alone", "head.bin", lambda p: write_llmc(np, p, []), ["token count 0 at byte 8"])
    case("an odd-length raw file", "odd.bin", lambda p: open(p, "wb").write(toks.tobytes() + b"\x01"),
         ["even length, this one 21 bytes", "cut off at byte 20"])
    case("an empty file", "empty.bin", lambda p: open(p, "wb").close(), ["empty file", "at byte 0"])
    case("a truncated llm.c header", "short.bin", lambda p: np.array([20240520, 1, 10], np.int32).tofile(p),
         ["truncated llm.c header", "ends at byte 12"])
    case("a .npy scalar", "scalar.npy", lambda p: np.save(p, np.float32(1)), ["rank 0 (a scalar) has no rows"])
    answers = probe.run_probe(exe, [f"open {path}" for _, path, _ in cases])
    for (label, path, words), answer in zip(cases, answers):
        missing = [w for w in words if w not in answer]
        if not answer.startswith(f"error {path}: ") or missing:
            r.fail(NAME, f"{label}: expected an error naming the file with {missing}, got '{answer}'")
        else:
            r.ok(f"refuses {label}")
    # A batch the file is too short for says how many tokens it needs.
    path = os.path.join(tmp, "nano_small.bin")
    write_nanogpt(np, path, toks)
    answer = probe.run_probe(exe, [f"random {path} 1 0 4 10 i32 {tmp}/a {tmp}/b"])[0]
    if "10 tokens are too few for windows of T = 10: a window needs T + 1 = 11" not in answer:
        r.fail(NAME, f"a window longer than the file: got '{answer}'")
    else:
        r.ok("refuses a window longer than the file")


def words_agree(r, np, rng, exe):
    """td_rng_word against the Python Philox, seeds of both halves."""
    pairs = [(0, 0), (1, 3), (2**64 - 1, 2**64 - 1), (0x123456789ABCDEF0, 2**33 + 5)]
    pairs += [(int(rng.integers(0, 2**64, dtype=np.uint64)), int(rng.integers(0, 2**40))) for _ in range(60)]
    answers = probe.run_probe(exe, [f"word {s} {j}" for s, j in pairs])
    bad = [(s, j) for (s, j), a in zip(pairs, answers) if a != f"ok {word(s, j)}"]
    if bad:
        r.fail(NAME, f"td_rng_word differs from the Python Philox at (seed, j) = {bad[:3]}")
    else:
        r.ok("td_rng_word equals the Python Philox")


def run(r, build_dir):
    try:
        import numpy as np
    except ImportError:
        r.fail(NAME, "numpy is missing: pip install numpy (tools/deps.sh installs it)")
        return
    if not kat(r):
        return
    rng = np.random.default_rng(20240520)
    with tempfile.TemporaryDirectory() as tmp:
        exe = compile_probe(r, build_dir, tmp)
        if exe is None:
            return
        try:
            words_agree(r, np, rng, exe)
            files = token_files(np, rng, tmp)
            opens(r, np, exe, files)
            random_batches(r, np, rng, exe, tmp, files)
            sequential_batches(r, np, exe, tmp, files)
            rows(r, np, rng, exe, tmp)
            refused(r, np, exe, tmp)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            r.fail(NAME, str(e))
