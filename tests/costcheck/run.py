"""Cost checks: the FLOPs tdc plans for each operation against a count.

tests/run_tests.py loads this file and calls run(r). gen.py writes PROGRAMS
random well-typed programs of FNS exported functions each (SEED fixed, so
the suite is the same every run); each is checked with `tdc check` (a
function that does not check is regenerated alone, with its next attempt
seed: see gen.py), compiled with `tdc --lib --count-flops` and linked with
costcheck.c, without OpenMP (the counter is not atomic). The driver calls
every function once, with the run-time dims bound to gen.RUNTIME, and
compares each operation's count of the operations it executed with the
FLOPs its cost formula gives (td_cost_desc), exactly. Each function is one
check here, named prog<K>.<FN>.

A function whose planned and counted FLOPs differ is a finding: it stays in
the suite, named in KNOWN_FAILURES with the reason, and must still fail (a
known failure that passes is reported, so the list stays current).

COSTCHECK_KEEP=DIR in the environment keeps the programs and builds there.
"""
import concurrent.futures
import importlib.util
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import build_info  # noqa: E402  (tests/build_info.py)
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

PROGRAMS = 8
FNS = 25  # 8 x 25 = 200 functions
ATTEMPTS = 5  # regenerations of a function that does not check

# "prog<K>.<FN>": why it fails (a finding, reported)
KNOWN_FAILURES = {
}

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def load_gen():
    spec = importlib.util.spec_from_file_location("costcheck_gen", os.path.join(HERE, "gen.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def generate(gen, tdc, k, work):
    """Writes program k, every function of it checking: (path, spans, notes, error or None)."""
    attempts, notes = {}, []
    path = os.path.join(work, f"prog{k}.td")
    for _ in range(ATTEMPTS + 1):
        text, spans = gen.program(gen.SEED, k, FNS, attempts)
        with open(path, "w") as fh:
            fh.write(text)
        p = subprocess.run([tdc, "check", "--diagnostics=json", "--max-errors=0", path], capture_output=True,
                           text=True, timeout=120, errors="replace")
        if p.returncode == 0:
            return path, spans, notes, None
        bad = set()
        for line in p.stderr.splitlines():
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if d.get("file") and os.path.basename(d["file"]) == os.path.basename(path):
                bad |= {i for i, (_, first, last) in enumerate(spans) if first <= d.get("line", 0) <= last}
        if not bad:
            return path, spans, notes, f"tdc check fails outside the functions\n{p.stderr[-3000:]}"
        for i in sorted(bad):
            notes.append(f"prog{k}: function {i} ({spans[i][0]}) did not check at attempt {attempts.get(i, 0)}")
            attempts[i] = attempts.get(i, 0) + 1
    return path, spans, notes, f"functions still do not check after {ATTEMPTS} regenerations\n{p.stderr[-3000:]}"


def build_and_run(gen, tdc, k, tmp, flags=()):
    """(spans, output, notes, error or None) of program k, compiled with tdc's flags."""
    work = os.path.join(tmp, f"prog{k}")
    os.makedirs(work, exist_ok=True)
    path, spans, notes, err = generate(gen, tdc, k, work)
    if err:
        return spans, None, notes, err
    include, library = build_info.runtime_of(tdc)
    steps = [
        [tdc, "--lib", "--count-flops"] + list(flags) + [path, "-o", os.path.join(work, "model")],
        ["cc", "-std=c11", "-O1", "-Wno-unknown-pragmas"] + build_info.sanitizer_flags(os.path.dirname(tdc)) + ["-I", include, "-I", work,
         os.path.join(HERE, "costcheck.c"), os.path.join(work, "model.c"), library,
         "-lopenblas", "-lm", "-o", os.path.join(work, "costcheck")],
    ]
    for argv in steps:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=ENV, errors="replace")
        if p.returncode != 0:
            return spans, None, notes, f"{os.path.basename(argv[0])} exits {p.returncode}\n{p.stdout[-3000:]}{p.stderr[-3000:]}"
    dims = [f"{n}={v}" for n, v in gen.RUNTIME.items()]
    p = subprocess.run([os.path.join(work, "costcheck")] + dims, capture_output=True, text=True, timeout=300,
                       env=ENV, errors="replace")
    if p.returncode not in (0, 1):
        return spans, None, notes, f"costcheck exits {p.returncode}\n{p.stdout[-3000:]}{p.stderr[-3000:]}"
    return spans, p.stdout, notes, None


def function_text(path, spans, name):
    for fn, first, last in spans:
        if fn == name:
            with open(path) as fh:
                return "".join(fh.readlines()[first - 1:last])
    return ""


def run(r):
    gen = load_gen()
    keep = os.environ.get("COSTCHECK_KEEP")
    tmp = keep or tempfile.mkdtemp(prefix="tdc-costcheck-")
    seen = set()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda k: build_and_run(gen, r.tdc, k, tmp), range(PROGRAMS)))
        for k, (spans, out, notes, err) in enumerate(results):
            prog = f"prog{k}"
            for note in notes:
                print(f"note: costcheck {note}; regenerated")
            if err:
                r.fail(f"costcheck {prog}", err)
                continue
            verdicts = build_info.driver_verdicts(out)
            if verdicts is None or len(verdicts) != len(spans):
                r.fail(f"costcheck {prog}", f"the driver did not finish\n{out[-3000:]}")
                continue
            for verdict, rest in verdicts:
                fn = rest.split(":", 1)[0].split(" ", 1)[0]
                key = f"{prog}.{fn}"
                seen.add(key)
                build_info.judge(r, f"costcheck {key}", verdict, KNOWN_FAILURES, key,
                                 lambda: rest.split(":", 1)[1].strip() + "\n" +
                                 function_text(os.path.join(tmp, prog, f"{prog}.td"), spans, fn))
        for key in sorted(set(KNOWN_FAILURES) - seen):
            r.fail(f"costcheck {key}", "named in KNOWN_FAILURES but not run")
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
