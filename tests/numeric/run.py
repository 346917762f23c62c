"""Numeric suite: compiled tdc programs against numpy, einops and ml_dtypes.

tests/run_tests.py loads this file and calls run(r). Each .td program in
PROGRAMS is compiled once (`tdc FILE.td -o EXE`, all of them in parallel),
then every case of tests/numeric/cases.py runs one exported function,

    EXE run FN --in NAME=PATH.npy ... --out OUT.npy[,OUT2.npy] [--dims d=N]

and compares each output with the reference numpy/einops computed (cases run
on a small thread pool). Each case is one check: one r.ok or one r.fail.

Comparison (compare() below), by the expected dtype; the output's dtype and
shape must match exactly first:
  f64                       rtol 1e-12, atol 1e-14 (for values near 0)
  f32                       rtol 1e-5,  atol 1e-6  (for values near 0)
  f16 bf16 f8e4m3 f8e5m2    within `ulps` units in the last place of the
                            narrow format (default 0: bit for bit, NaNs in
                            the same places); references round to the
                            narrow dtype once per operation, as the runtime
                            does (computed in f32, rounded once)
  integers, bool            exact
A case may widen a float tolerance (rtol=/atol=/ulps=) only with a comment
in cases.py saying why.

Besides the cases: the memory plans of pure views (`tdc --emit=plan` must
say "copies: 0"), and the executable's errors on bad input (exit status 2
and one line on stderr naming the input or dim).
"""
import concurrent.futures
import importlib.util
import json
import os
import re
import struct
import subprocess
import tempfile

import ml_dtypes
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _load_cases():
    spec = importlib.util.spec_from_file_location("numeric_cases", os.path.join(HERE, "cases.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


cases = _load_cases()

WORKERS = 4
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")

NARROW = {np.dtype(ml_dtypes.bfloat16): np.uint16, np.dtype(np.float16): np.uint16,
          np.dtype(ml_dtypes.float8_e4m3fn): np.uint8, np.dtype(ml_dtypes.float8_e5m2): np.uint8}


def load(path, expected_dtype):
    """np.load, giving ml_dtypes arrays back their dtype (np.save writes
    bf16 as <V2 and f8e4m3 as <V1)."""
    a = np.load(path)
    if a.dtype.kind == "V" and expected_dtype.kind == "V" and a.dtype.itemsize == expected_dtype.itemsize:
        a = a.view(expected_dtype)
    return a


def ordered(a):
    """The narrow floats' bit patterns as integers in the order of the values
    (sign-magnitude to two's complement), so a difference counts ulps."""
    bits = a.view(NARROW[a.dtype]).astype(np.int64)
    top = 1 << (8 * a.dtype.itemsize - 1)
    return np.where(bits & top, -(bits & (top - 1)), bits)


def compare(actual, expected, rtol=None, atol=None, ulps=0):
    """None when actual matches expected, else why not (see the docstring)."""
    if actual.dtype != expected.dtype:
        return f"dtype {actual.dtype}, expected {expected.dtype}"
    if actual.shape != expected.shape:
        return f"shape {actual.shape}, expected {expected.shape}"
    dt = expected.dtype
    if dt in NARROW:
        an, en = np.isnan(actual.astype(np.float32)), np.isnan(expected.astype(np.float32))
        bad = an != en
        both = ~an & ~en
        diff = np.zeros(actual.shape, np.int64)
        diff[both] = np.abs(ordered(actual)[both] - ordered(expected)[both])
        bad |= diff > ulps   # narrow floats: within `ulps` ulps (default 0: exact)
        if bad.any():
            i = tuple(int(v) for v in np.argwhere(bad)[0])
            return (f"{int(bad.sum())} of {bad.size} elements differ by more than {ulps} ulp; first at {i}: "
                    f"{actual[i]} expected {expected[i]}\n  actual   {actual.ravel()[:16]}\n"
                    f"  expected {expected.ravel()[:16]}")
        return None
    if dt.kind == "f":
        if dt == np.float64:
            rtol = 1e-12 if rtol is None else rtol   # f64: rtol 1e-12
            atol = 1e-14 if atol is None else atol   # f64: atol 1e-14 near 0
        else:
            rtol = 1e-5 if rtol is None else rtol    # f32: rtol 1e-5
            atol = 1e-6 if atol is None else atol    # f32: atol 1e-6 near 0
        try:
            np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
        except AssertionError as e:
            return str(e).strip()
        return None
    if not np.array_equal(actual, expected):   # integers and bool: exact
        bad = actual != expected
        i = tuple(int(v) for v in np.argwhere(bad)[0]) if actual.ndim else ()
        return (f"{int(bad.sum())} of {bad.size} elements differ; first at {i}: {actual[i]} expected "
                f"{expected[i]}\n  actual   {actual.ravel()[:16]}\n  expected {expected.ravel()[:16]}")
    return None


def compile_programs(tdc, tmp):
    """Compiles every program once, in parallel: {name: Program}."""
    def one(item):
        name, src = item
        src, flags = (src, []) if isinstance(src, str) else (src[0], list(src[1:]))
        exe = os.path.join(tmp, name)
        p = subprocess.run([tdc] + flags + [os.path.join(ROOT, src), "-o", exe], capture_output=True, text=True,
                           timeout=300, env=ENV, errors="replace")
        if p.returncode != 0 or not os.path.exists(exe):
            return name, Program(None, f"tdc {' '.join(flags + [src])} -o {name} exits {p.returncode}\n{p.stdout}{p.stderr}")
        return name, Program(exe, None)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, cases.PROGRAMS.items()))


class Program:
    """A compiled program: its executable, its run-time dims and, for each
    function, the run-time dims its inputs bind (from `EXE info`)."""
    def __init__(self, exe, error):
        self.exe, self.error = exe, error
        self.dims, self.binds = [], {}
        if exe is None:
            return
        p = subprocess.run([exe, "info"], capture_output=True, text=True, timeout=60, env=ENV, errors="replace")
        section = None
        for line in p.stdout.splitlines():
            if not line.startswith(" "):
                section = line.strip()
                continue
            if section == "dims" and "bound at run time" in line:
                self.dims.append(line.split()[0])
            elif section == "functions":
                m = re.match(r"\s+(\w+)\((.*?)\)( ->|$)", line)
                if m:
                    self.binds[m.group(1)] = self.bound(m.group(2))

    def bound(self, params):
        """Dims that an input axis binds: an axis that is one run-time dim,
        times or over numbers (`batch`, `2*batch`, `batch/2`)."""
        out = set()
        for shape in re.findall(r'\["([^"]*)"\]', params):
            for word in shape.split():
                names = [t for t in re.split(r"[*/]", word) if not t.isdigit()]
                if len(names) == 1 and names[0] in self.dims:
                    out.add(names[0])
        return out

    def dims_for(self, fn, dims):
        """--dims for the run-time dims that no input of fn binds."""
        bound = self.binds.get(fn, set())
        return {d: dims[d] for d in self.dims if d not in bound and d in dims}


def run_exe(exe, args, inputs, dims, outs, tmp, tag, extra=()):
    """Writes the inputs to .npy files and runs `EXE ARGS --in ... --out ...`;
    returns (rc, stderr, out paths)."""
    d = os.path.join(tmp, tag)
    os.makedirs(d, exist_ok=True)
    argv = [exe] + list(args)
    for k, v in inputs.items():
        path = os.path.join(d, k + ".npy")
        if isinstance(v, str):   # a path as given (an error case)
            path = v
        elif isinstance(v, bytes):   # a file's bytes as given (an error case)
            with open(path, "wb") as fh:
                fh.write(v)
        else:
            np.save(path, v)
        argv += ["--in", f"{k}={path}"]
    paths = [os.path.join(d, f"out{i}.npy") for i in range(outs)]
    if outs:
        argv += ["--out", ",".join(paths)]
    if dims:
        argv += ["--dims", ",".join(f"{k}={v}" for k, v in dims.items())]
    argv += list(extra)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=ENV, errors="replace")
    return p.returncode, p.stderr, paths


def outputs_match(paths, expect, rtol, atol, ulps):
    problems = []
    for i, (path, want) in enumerate(zip(paths, expect)):
        try:
            got = load(path, want.dtype)
        except Exception as e:   # a missing or unreadable output
            problems.append(f"output {i}: cannot load: {e}")
            continue
        why = compare(got, want, rtol, atol, ulps)
        if why:
            problems.append(f"output {i}: {why}")
    return "\n".join(problems) or None


def check_case(c, progs, tmp, index):
    """One case: None when it passes, else why not."""
    prog = progs[c.prog]
    if prog.exe is None:
        return f"not compiled: {prog.error.splitlines()[0]}"
    dims = prog.dims_for(c.fn, c.dims) if c.given is None else {d: c.dims[d] for d in c.given}
    rc, stderr, paths = run_exe(prog.exe, ["run", c.fn], c.inputs, dims, len(c.expect), tmp, f"case{index}")
    if rc != 0:
        return f"exit status {rc}: {stderr.strip()}"
    return outputs_match(paths, c.expect, c.rtol, c.atol, c.ulps)


# ---- safetensors, as the format describes it: u64 LE header length, JSON, data ----

ST_DTYPES = {"F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": np.dtype(ml_dtypes.bfloat16),
             "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "U16": np.dtype("<u2"), "BOOL": np.dtype("|b1")}


def st_read(path):
    """{name: array} and the metadata of a safetensors file."""
    with open(path, "rb") as fh:
        data = fh.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    meta = header.pop("__metadata__", {})
    out = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        out[name] = np.frombuffer(body[begin:end], ST_DTYPES[t["dtype"]]).reshape(t["shape"]).copy()
    return out, meta


def st_write(path, tensors):
    names = {v: k for k, v in ST_DTYPES.items()}
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": names[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def check_model(m, progs, tmp, index):
    """`EXE params`, read back here, then FN with those params (see cases.ModelCase)."""
    prog = progs[m.prog]
    if prog.exe is None:
        return f"not compiled: {prog.error.splitlines()[0]}"
    d = os.path.join(tmp, f"model{index}")
    os.makedirs(d, exist_ok=True)
    ckpt = os.path.join(d, "params.safetensors")
    seed = [] if m.seed is None else ["--seed", str(m.seed)]
    argv = [prog.exe, "params", "--out", ckpt] + seed
    if prog.dims:
        argv += ["--dims", ",".join(f"{k}={m.dims[k]}" for k in prog.dims)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=ENV, errors="replace")
    if p.returncode != 0:
        return f"{' '.join(argv[1:])}: exit status {p.returncode}: {p.stderr.strip()}"
    params, meta = st_read(ckpt)
    want_meta = {"tdc_model": m.prog, "seed": str(m.seed or 0)}
    if meta != want_meta:
        return f"the checkpoint's metadata is {meta}, expected {want_meta}"
    extra = seed
    if m.custom:
        params = m.custom(params)
        mine = os.path.join(d, "custom.safetensors")
        st_write(mine, params)
        extra = ["--params", mine]
    got = m.ref(params, **m.inputs)
    expect = [np.asarray(g) for g in (got if isinstance(got, tuple) else (got,))]
    rc, stderr, paths = run_exe(prog.exe, ["run", m.fn], m.inputs, prog.dims_for(m.fn, m.dims), len(expect),
                                tmp, f"model{index}", extra)
    if rc != 0:
        return f"exit status {rc}: {stderr.strip()}"
    return outputs_match(paths, expect, m.rtol, m.atol, 0)


def check_property(c, progs, tmp, index):
    """A property of the outputs of several runs (see cases.Property)."""
    prog = progs[c.prog]
    if prog.exe is None:
        return f"not compiled: {prog.error.splitlines()[0]}"
    outputs = []
    for k, extra in enumerate(c.runs):
        rc, stderr, paths = run_exe(prog.exe, ["run", c.fn], c.inputs, prog.dims_for(c.fn, c.dims), c.outs, tmp,
                                    f"property{index}.{k}", extra)
        if rc != 0:
            return f"exit status {rc}: {stderr.strip()}"
        outputs.append([np.load(p) for p in paths])
    return c.check(outputs)


def check_error(e, progs, tmp, index):
    """An error case: exit status e.status, one line `EXE: error: ...` naming e.words."""
    prog = progs[e.prog]
    if prog.exe is None:
        return f"not compiled: {prog.error.splitlines()[0]}"
    dims = e.dims if e.dims is not None else prog.dims_for(e.fn, cases.DIMS)
    rc, stderr, _ = run_exe(prog.exe, ["run", e.fn], e.inputs, dims, e.outs, tmp, f"error{index}")
    base = os.path.basename(prog.exe)
    if rc != e.status:   # 2: bad input; 1: the program failed
        return f"exit status {rc}, expected {e.status}; stderr: {stderr!r}"
    if stderr.count("\n") != 1 or not stderr.endswith("\n"):
        return f"expected one line on stderr, got {stderr!r}"
    if not stderr.startswith(f"{base}: error: "):
        return f"expected '{base}: error: ...', got {stderr!r}"
    missing = [w for w in e.words if w not in stderr]
    if missing:
        return f"the message does not name {missing}: {stderr!r}"
    return None


def plan_copies(tdc, src):
    """{function: copies} from `tdc --emit=plan`."""
    p = subprocess.run([tdc, "--emit=plan", os.path.join(ROOT, src)], capture_output=True, text=True,
                       timeout=120, env=ENV, errors="replace")
    copies, current = {}, None
    for line in p.stdout.splitlines():
        m = re.match(r"workspace of (\w+):", line)
        if m:
            current = m.group(1)
        m = re.match(r"\s+copies: (\d+)$", line)
        if m and current:
            copies[current] = int(m.group(1))
    return copies, p


def run(r):
    tdc = r.tdc
    with tempfile.TemporaryDirectory(prefix="tdc-numeric-") as tmp:
        progs = compile_programs(tdc, tmp)
        for name, prog in sorted(progs.items()):
            if prog.exe is None:
                r.fail(f"numeric: compile {name}", prog.error)
        jobs = ([(check_case, c) for c in cases.CASES] + [(check_model, m) for m in cases.MODEL_CASES]
                + [(check_property, p) for p in cases.PROPERTIES] + [(check_error, e) for e in cases.ERRORS])
        with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
            plans = {src: pool.submit(plan_copies, tdc, src) for src in cases.PLAN_NO_COPIES}
            results = list(pool.map(lambda ij: ij[1][0](ij[1][1], progs, tmp, ij[0]), enumerate(jobs)))
        for (kind, c), why in zip(jobs, results):
            what = {check_case: "", check_model: "params ", check_property: "property ", check_error: "error "}[kind]
            label = f" ({c.label})" if c.label else ""
            name = f"numeric {what}{c.prog}.{c.fn}{label}"
            if why:
                r.fail(name, why)
            else:
                r.ok(name)
        for src, fns in cases.PLAN_NO_COPIES.items():
            copies, p = plans[src].result()
            for fn in fns:
                name = f"numeric plan {src}: {fn} copies nothing"
                if p.returncode != 0:
                    r.fail(name, f"tdc --emit=plan exits {p.returncode}\n{p.stderr}")
                elif copies.get(fn) != 0:
                    r.fail(name, f"expected 'copies: 0' in the workspace of {fn}, got {copies.get(fn)}")
                else:
                    r.ok(name)
