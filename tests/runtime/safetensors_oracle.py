"""safetensors_oracle.py - runtime/safetensors.c against a Python reader and
writer of the format.

The `safetensors` package is not available offline, so the oracle is a
reader and a writer written here from the format's description with json,
struct and numpy (ml_dtypes for BF16 and the FP8 types): py_write lays a
file out as the reference writer does (tensors sorted by element size, then
name; compact JSON; "__metadata__" first; spaces to a multiple of 8 bytes)
and can vary everything a valid file may vary (escapes, whitespace, key and
entry order, no padding); py_read checks every rule of the format, strictly.

Checked here:
  - C writes, Python reads: every dtype at ranks 0 to 16 and empty shapes,
    with and without metadata (escapes and non-ASCII included). py_read must
    accept the file and give back the arrays bit for bit, and the header must
    be byte for byte the compact JSON of the spec's layout (offsets
    consecutive in the given order, "__metadata__" first, padded to 8).
  - Python writes, C reads: the same arrays in files of every layout variant;
    the C reader must give each tensor's name, dtype, shape and bytes, sorted
    by offset, and the metadata.
  - Files Python builds to break one rule each: the C reader must refuse
    them with a message naming the file, the fault and the byte offset.
  - A differential sweep: thousands of mutations of valid files (bytes set,
    inserted or deleted in the header, numbers changed, lengths changed,
    files cut or extended, bool bytes set to 2); the C reader and py_read
    must agree on which are valid, and on the contents of those that are.

The C side is tests/runtime/safetensors_probe_main.c, compiled with
safetensors.c, file_io.c and ctx.c (with the sanitizers when the build under test has
them) and fed one command a line, so all of it takes one compile and one
process.
"""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe  # noqa: E402

NAME = "safetensors oracle"
MAX_HEADER = 100_000_000
MAX_NAME = 256
MAX_RANK = 16
SIZE_MAX = 2**64 - 1

SHAPES = [(), (0,), (7,), (2, 3), (2, 0, 3), (1, 2, 3, 1), (2, 1, 2, 1, 3), (1, 2, 1, 2, 1, 2), (17, 33),
          (1,) * 15 + (3,)]


class FormatError(Exception):
    pass


def dtypes(np, ml):
    """The format's name for every tdc dtype, with its numpy dtype."""
    out = {"F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "I64": np.dtype("<i8"),
           "I32": np.dtype("<i4"), "U16": np.dtype("<u2"), "BOOL": np.dtype("|b1")}
    if ml is not None:
        out.update({"BF16": np.dtype(ml.bfloat16), "F8_E4M3": np.dtype(ml.float8_e4m3fn),
                    "F8_E5M2": np.dtype(ml.float8_e5m2)})
    return out


ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I64": 8, "I32": 4, "U16": 2,
            "BOOL": 1}


# ---- the Python writer ----

def py_write(path, tensors, metadata=None, order="reference", ensure_ascii=False, indent=None, pad=True,
             shuffle_keys=None, metadata_last=False):
    """tensors: [(name, format dtype, numpy array)]. order "reference" sorts
    as the reference writer does (larger elements first, then by name);
    "given" keeps the list's order."""
    items = list(tensors)
    if order == "reference":
        items.sort(key=lambda t: (-ITEMSIZE[t[1]], t[0]))
    header, offset = {}, 0
    if metadata is not None and not metadata_last:
        header["__metadata__"] = metadata
    for name, dtype, a in items:
        n = len(a.tobytes())
        entry = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + n]}
        if shuffle_keys is not None:
            keys = list(entry)
            shuffle_keys.shuffle(keys)
            entry = {k: entry[k] for k in keys}
        header[name] = entry
        offset += n
    if metadata is not None and metadata_last:
        header["__metadata__"] = metadata
    separators = (",", ":") if indent is None else (",", ": ")
    text = json.dumps(header, separators=separators, ensure_ascii=ensure_ascii, indent=indent).encode("utf-8")
    if pad:
        text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(a.tobytes() for _, _, a in items))
    return items


# ---- the Python reader: every rule of the format, strictly ----

def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise FormatError("a key appears twice in an object")
    return dict(pairs)


def _reject(what):
    def hook(s):
        raise FormatError(f"{what} {s!r}")
    return hook


def _check_strings(value):
    """No NUL (names are C strings) and no lone surrogate (not UTF-8)."""
    strings = []
    if isinstance(value, str):
        strings = [value]
    elif isinstance(value, dict):
        strings = list(value)
        for v in value.values():
            _check_strings(v)
    elif isinstance(value, list):
        for v in value:
            _check_strings(v)
    for s in strings:
        if "\0" in s or any(0xD800 <= ord(c) <= 0xDFFF for c in s):
            raise FormatError("a NUL or a lone surrogate in a string")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def py_read(data):
    """The bytes of a file -> ([(name, dtype, shape, begin, end)] by offset,
    metadata dict or None, data section). Raises FormatError."""
    if len(data) < 8:
        raise FormatError("shorter than the header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8 or n > MAX_HEADER:
        raise FormatError("bad header length")
    raw = data[8:8 + n]
    if not raw.startswith(b"{"):
        raise FormatError("the header does not start with '{'")
    try:
        text = raw.decode("utf-8")
        header = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_reject("a float"),
                            parse_constant=_reject("a constant"),
                            parse_int=lambda s: int(s) if not s.startswith("-") else _reject("a negative")(s))
    except (ValueError, RecursionError) as e:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise FormatError(f"bad JSON: {e}")
    _check_strings(header)
    section = data[8 + n:]
    metadata, entries = None, []
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise FormatError("__metadata__ is not an object of strings")
            metadata = entry
            continue
        if not name or len(name.encode("utf-8")) >= MAX_NAME:
            raise FormatError("bad name length")
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise FormatError("an entry needs exactly dtype, shape, data_offsets")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(dtype, str) or dtype not in ITEMSIZE:
            raise FormatError("bad dtype")
        if not isinstance(shape, list) or len(shape) > MAX_RANK or \
                not all(_is_int(d) and 0 <= d <= 2**63 - 1 for d in shape):
            raise FormatError("bad shape")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) and 0 <= o <= SIZE_MAX
                                                                        for o in offsets):
            raise FormatError("bad data_offsets")
        elements = 1
        for d in shape:  # left to right, as the reference and td_shape_elements count
            elements *= d
            if elements > SIZE_MAX:
                raise FormatError("the element count overflows")
        if elements * ITEMSIZE[dtype] > SIZE_MAX:
            raise FormatError("the byte count overflows")
        begin, end = offsets
        if begin > end or end > len(section) or end - begin != elements * ITEMSIZE[dtype]:
            raise FormatError("bad data_offsets")
        entries.append((name, dtype, tuple(shape), begin, end))
    entries.sort(key=lambda e: (e[3], e[4]))
    covered = 0
    for _, _, _, begin, end in entries:
        if begin != covered:
            raise FormatError("a gap or an overlap")
        covered = end
    if covered != len(section):
        raise FormatError("trailing bytes")
    for _, dtype, _, begin, end in entries:
        if dtype == "BOOL" and any(b > 1 for b in section[begin:end]):
            raise FormatError("a bool byte is not 0 or 1")
    return entries, metadata, section


# ---- the probe ----

def compile_probe(r, build_dir, tmp):
    return probe.compile_probe(r, NAME, build_dir, tmp,
                               ["tests/runtime/safetensors_probe_main.c", "runtime/safetensors.c", "runtime/file_io.c", "runtime/ctx.c"])


def hexs(s):
    return s.encode("utf-8").hex() or "-"


def unhex(h):
    return "" if h == "-" else bytes.fromhex(h).decode("utf-8")


def parse_answer(answer):
    """'ok NT NM T:... M:...' -> ([(name, dtype, shape, bytes)], {key: value}); None for an error."""
    words = answer.split(" ")
    if words[0] != "ok":
        return None
    tensors, meta = [], {}
    for w in words[3:]:
        parts = w.split(":")
        if parts[0] == "T" and len(parts) == 5:
            shape = tuple(int(d) for d in parts[3].split(",")) if parts[3] else ()
            tensors.append((unhex(parts[1]), parts[2], shape, int(parts[4])))
        elif parts[0] == "M" and len(parts) == 3:
            meta[unhex(parts[1])] = unhex(parts[2])
        else:
            raise RuntimeError(f"the probe answered '{answer[:200]}' ({w[:60]} has a failed find or meta)")
    if len(tensors) != int(words[1]) or len(meta) != int(words[2]):
        raise RuntimeError(f"the probe's counts do not match: '{answer[:200]}'")
    return tensors, meta


def sample(np, rng, dtype, shape):
    """Every bit pattern is fair (NaN payloads, infinities, subnormals), so
    the bytes are random; bools are 0 or 1."""
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if dtype == np.dtype("|b1"):
        return rng.integers(0, 2, size=n, dtype=np.uint8).astype(bool).reshape(shape)
    return rng.integers(0, 256, size=n * dtype.itemsize, dtype=np.uint8).view(dtype).reshape(shape)


def run(r, build_dir):
    try:
        import numpy as np
    except ImportError:
        r.fail(NAME, "numpy is missing: pip install numpy (tools/deps.sh installs it)")
        return
    try:
        import ml_dtypes as ml
    except ImportError:
        r.fail(NAME, "ml_dtypes is missing, so BF16 and FP8 go unchecked: pip install ml_dtypes "
                     "(tools/deps.sh installs it)")
        ml = None
    rng = np.random.default_rng(20240611)
    with tempfile.TemporaryDirectory() as tmp:
        exe = compile_probe(r, build_dir, tmp)
        if exe is None:
            return
        try:
            c_writes(r, np, ml, rng, exe, tmp)
            python_writes(r, np, ml, rng, exe, tmp)
            rejected(r, np, exe, tmp)
            differential(r, np, ml, rng, exe, tmp)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            r.fail(NAME, str(e))


METADATA = {"format": "pt", "note \"quoted\"\n": "caf\u00e9 \u2603 \U0001F600 \x01 back\\slash /", "": ""}


def file_sets(np, ml, rng):
    """(label, [(name, dtype, array)], metadata): one file per dtype with every
    shape, and one with every dtype."""
    types = dtypes(np, ml)
    sets = []
    for i, (dtype, npd) in enumerate(types.items()):
        tensors = [(f"{dtype.lower()}.{k}" if k % 3 else f"layer.{k}.w\u00e9ight", dtype, sample(np, rng, npd, s))
                   for k, s in enumerate(SHAPES)]
        sets.append((f"{dtype} at every shape", tensors, METADATA if i % 2 else None))
    mixed = [(f"t{k}", dtype, sample(np, rng, npd, (3, 2))) for k, (dtype, npd) in enumerate(types.items())]
    sets.append(("every dtype in one file", mixed, {"format": "tdc"}))
    return sets


def c_writes(r, np, ml, rng, exe, tmp):
    """C writes, Python reads."""
    cases, commands = [], []
    for label, tensors, metadata in file_sets(np, ml, rng):
        base = os.path.join(tmp, f"c_{len(cases)}")
        with open(base + ".spec", "w") as f:
            for key, value in (metadata or {}).items():
                f.write(f"M {hexs(key)} {hexs(value)}\n")
            for name, dtype, a in tensors:
                f.write(f"T {hexs(name)} {dtype} {len(a.tobytes())} {a.ndim}" + "".join(f" {d}" for d in a.shape)
                        + "\n")
        with open(base + ".raw", "wb") as f:
            f.write(b"".join(a.tobytes() for _, _, a in tensors))
        cases.append((f"C writes {label}", tensors, metadata, base + ".safetensors"))
        commands.append(f"write {base}.safetensors {base}.spec {base}.raw")
    types = dtypes(np, ml)
    for (label, tensors, metadata, path), answer in zip(cases, probe.run_probe(exe, commands)):
        if answer != "ok":
            r.fail(NAME, f"{label}: the C writer says '{answer}'")
            continue
        with open(path, "rb") as f:
            data = f.read()
        try:
            entries, meta, section = py_read(data)
        except FormatError as e:
            r.fail(NAME, f"{label}: the Python reader refuses our file: {e}")
            continue
        # the spec's layout: compact JSON, metadata first, offsets in the given order, spaces to 8
        header, offset = {}, 0
        if metadata:
            header["__metadata__"] = metadata
        for name, dtype, a in tensors:
            header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
            offset += a.nbytes
        want = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        want += b" " * (-len(want) % 8)
        (n,) = struct.unpack("<Q", data[:8])
        if data[8:8 + n] != want:
            r.fail(NAME, f"{label}: the header is not the spec's layout:\n  ours {data[8:8 + n][:300]!r}\n"
                         f"  want {want[:300]!r}")
            continue
        if (meta or None) != (metadata or None):
            r.fail(NAME, f"{label}: metadata {meta!r}, expected {metadata!r}")
            continue
        bad = []
        by_name = {e[0]: e for e in entries}
        for name, dtype, a in tensors:
            _, got_dtype, shape, begin, end = by_name[name]
            b = np.frombuffer(section[begin:end], dtype=types[got_dtype]).reshape(shape)
            if got_dtype != dtype or b.shape != a.shape or b.tobytes() != a.tobytes():
                bad.append(name)
        if bad:
            r.fail(NAME, f"{label}: tensors {bad} differ after Python reads them")
        else:
            r.ok(label)


VARIANTS = [
    ("the reference layout", {}),
    ("given order, no padding", {"order": "given", "pad": False}),
    ("ASCII escapes (\\uXXXX, surrogate pairs)", {"ensure_ascii": True}),
    ("indented, with newlines", {"indent": 1}),
    ("shuffled entry keys, metadata last", {"shuffle": True, "metadata_last": True}),
]


def python_writes(r, np, ml, rng, exe, tmp):
    """Python writes, C reads."""
    shuffler = random.Random(5)
    cases, commands = [], []
    for label, tensors, metadata in file_sets(np, ml, rng):
        for vlabel, opts in VARIANTS:
            opts = dict(opts)
            if opts.pop("shuffle", False):
                opts["shuffle_keys"] = shuffler
            path = os.path.join(tmp, f"py_{len(cases)}.safetensors")
            items = py_write(path, tensors, metadata or (METADATA if "metadata" in vlabel else None), **opts)
            cases.append((f"C reads Python's {label}, {vlabel}", items,
                          metadata or (METADATA if "metadata" in vlabel else None), path))
            commands.append(f"read {path} {path}.raw")
    for (label, items, metadata, path), answer, command in zip(cases, probe.run_probe(exe, commands), commands):
        got = parse_answer(answer)
        if got is None:
            r.fail(NAME, f"{label}: the C reader says '{answer}'")
            continue
        tensors, meta = got
        want = [(name, dtype, a.shape, a.nbytes) for name, dtype, a in items]  # files are written in offset order
        if tensors != want or meta != (metadata or {}):
            r.fail(NAME, f"{label}: the C reader gives {tensors[:4]}..., {meta}; expected {want[:4]}..., {metadata}")
            continue
        with open(command.split()[2], "rb") as f:
            if f.read() != b"".join(a.tobytes() for _, _, a in items):
                r.fail(NAME, f"{label}: the C reader's bytes differ from Python's")
                continue
        r.ok(label)


def _file(header, data=b"", length=None):
    raw = header.encode("utf-8") if isinstance(header, str) else header
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def rejected(r, np, exe, tmp):
    """Files that break one rule each; the message must say which, and where."""
    f32 = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    e = '"dtype":"F32","shape":[2]'
    gap = '{"a":{' + e + ',"data_offsets":[0,8]},"b":{' + e + ',"data_offsets":[9,17]}}'
    overlap = gap.replace("[9,17]", "[7,15]")
    short = f32.replace("[0,8]", "[0,6]")

    def at(header, needle):
        return f"at byte {8 + header.index(needle)}"
    cases = [
        ("truncated", b"\x10\x00\x00", ["truncated", "at byte 3"]),
        ("header length past the end", _file(f32, bytes(8), length=1000), ["header length 1000 runs past the end",
                                                                            "at byte 0"]),
        ("bad JSON", _file('{"a":{"dtype":"F32",,}}'), ["malformed JSON header", "at byte 28"]),
        ("not an object", _file('["a"]'), ["must start with '{'", "at byte 8"]),
        ("a float", _file('{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}', bytes(8)),
         ["not an integer", "at byte 37"]),
        ("bad dtype", _file('{"a":{"dtype":"C64","shape":[2],"data_offsets":[0,16]}}', bytes(16)),
         ["unsupported dtype 'C64'", "at byte 22"]),
        ("a gap", _file(gap, bytes(17)), ["tensor 'b': a gap in the data section: bytes [8, 9)", at(gap, "[9,")]),
        ("an overlap", _file(overlap, bytes(15)), ["tensor 'b': data_offsets [7, 15] overlap those of 'a'",
                                                   at(overlap, "[7,")]),
        ("out of range", _file(f32, bytes(7)), ["run past the end of the data section (7 bytes)", at(f32, "[0,8]")]),
        ("wrong byte count", _file(short, bytes(6)), ["hold 6 bytes, but shape [2] of F32 needs 8", at(short, "[0,6]")]),
        ("duplicate names", _file('{"a":{' + e + ',"data_offsets":[0,8]},"a":{' + e + ',"data_offsets":[8,16]}}',
                                  bytes(16)), ["duplicate tensor name 'a' (first at byte 9)", "at byte 62"]),
        ("trailing bytes", _file(f32, bytes(12)), ["(4 trailing bytes)", "at byte 70"]),
        ("duplicate JSON keys", _file('{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
                                      bytes(8)), ["\"dtype\" appears twice", "at byte 28"]),
        ("a lone surrogate", _file('{"\\ud800":{}}'), ["high surrogate without a low one", "at byte 10"]),
        ("metadata not strings", _file('{"__metadata__":{"epoch":3}}'), ["must be a string", "at byte 33"]),
    ]
    commands = []
    for i, (label, data, _) in enumerate(cases):
        path = os.path.join(tmp, f"bad_{i}.safetensors")
        with open(path, "wb") as f:
            f.write(data)
        commands.append(f"read {path} {path}.raw")
    for (label, _, words), answer, command in zip(cases, probe.run_probe(exe, commands), commands):
        missing = [w for w in words if w not in answer]
        if not answer.startswith("error " + command.split()[1] + ": ") or missing or not answer.endswith(words[-1]):
            r.fail(NAME, f"{label}: expected an error with {missing or words}, got '{answer}'")
        else:
            r.ok(f"rejects {label}")
    for label, data, _ in cases:  # the Python reader must refuse them too, or it is no oracle
        try:
            py_read(data)
            r.fail(NAME, f"{label}: the Python reader accepts it")
        except FormatError:
            pass


INTERESTING = b'{}[],:"\\u0123456789-.eE tfn\x00\x7f\x80\xbf\xc3\xed\xf0\xff'


def mutate(data, rnd):
    """One random change to a valid file."""
    (n,) = struct.unpack("<Q", data[:8])
    header, rest = bytearray(data[8:8 + n]), data[8 + n:]
    op = rnd.randrange(9)
    if op <= 2 and header:  # set a header byte
        header[rnd.randrange(len(header))] = rnd.choice(INTERESTING) if op < 2 else rnd.randrange(256)
    elif op == 3 and header:  # delete one
        del header[rnd.randrange(len(header))]
    elif op == 4:  # insert one
        header.insert(rnd.randrange(len(header) + 1), rnd.choice(INTERESTING))
    elif op == 5:  # change a number
        digits = [i for i, c in enumerate(header) if 0x30 <= c <= 0x39]
        if digits:
            i = rnd.choice(digits)
            j = i
            while j < len(header) and 0x30 <= header[j] <= 0x39:
                j += 1
            value = rnd.choice([0, 1, 2, 3, 7, 8, 16, 2**31, 2**32, 2**61, 2**63 - 1, 2**63, 2**64 - 1, 2**64,
                                int(header[i:j] or b"0") + rnd.choice([-1, 1])])
            header[i:j] = str(max(value, 0)).encode()
    elif op == 6:  # change the header length
        return struct.pack("<Q", max(n + rnd.randint(-9, 9), 0)) + bytes(header) + rest
    elif op == 7:  # cut the file or extend it
        whole = struct.pack("<Q", n) + bytes(header) + rest
        return whole[:rnd.randrange(len(whole) + 1)] if rnd.random() < 0.6 else whole + b"\x00" * rnd.randint(1, 4)
    elif rest:  # a data byte of 2 (a bad bool, if a bool is there)
        rest = bytearray(rest)
        rest[rnd.randrange(len(rest))] = 2
        rest = bytes(rest)
    return struct.pack("<Q", len(header)) + bytes(header) + rest


def differential(r, np, ml, rng, exe, tmp, count=3000):
    """The C reader and py_read agree on mutations of valid files."""
    rnd = random.Random(20240611)
    types = dtypes(np, ml)
    bases = []
    for k in range(4):
        tensors = [(f"w{i}", dtype, sample(np, rng, npd, shape))
                   for i, (dtype, npd), shape in zip(range(4), rnd.sample(sorted(types.items()), 4),
                                                     [(2, 3), (0, 4), (), (3,)])]
        path = os.path.join(tmp, f"base_{k}.safetensors")
        py_write(path, tensors, {"k": "v\u00e9"} if k % 2 else None, ensure_ascii=k >= 2, indent=1 if k == 3 else None)
        with open(path, "rb") as f:
            bases.append(f.read())
    mutants, commands = [], []
    for i in range(count):
        data = mutate(rnd.choice(bases), rnd)
        path = os.path.join(tmp, f"mut_{i}.safetensors")
        with open(path, "wb") as f:
            f.write(data)
        mutants.append((path, data))
        commands.append(f"read {path} {path}.raw")
    agree = accepted = 0
    disagreements = []
    for (path, data), answer in zip(mutants, probe.run_probe(exe, commands, timeout=600)):
        try:
            want = py_read(data)
        except FormatError as e:
            want = e
        got = parse_answer(answer)
        if isinstance(want, FormatError):
            ok = got is None and answer.startswith(f"error {path}: ") and " at byte " in answer
            why = f"Python refuses it ({want}), C says '{answer[:300]}'"
        elif got is None:
            ok, why = False, f"Python reads it, C says '{answer[:300]}'"
        else:
            entries, metadata, section = want
            expect = [(name, dtype, shape, end - begin) for name, dtype, shape, begin, end in entries]
            with open(path + ".raw", "rb") as f:
                same_bytes = f.read() == b"".join(section[b:e] for _, _, _, b, e in entries)
            ok = got[0] == expect and got[1] == (metadata or {}) and same_bytes
            why = f"both read it, but C gives {got} and Python {expect}, {metadata} (bytes same: {same_bytes})"
            accepted += ok
        if ok:
            agree += 1
        else:
            disagreements.append(f"{os.path.basename(path)} {data[:160]!r}...: {why}")
    if disagreements:
        r.fail(NAME, f"differential: {len(disagreements)} of {count} mutations disagree; the first:\n  "
                     + "\n  ".join(disagreements[:5]))
    elif accepted == 0 or accepted == count:
        r.fail(NAME, f"differential: {accepted} of {count} mutations are valid: the sweep tests nothing")
    else:
        r.ok(f"differential: {count} mutations agree ({accepted} valid)")
