"""Gradient checks: grad() in compiled programs against central differences.

tests/run_tests.py loads this file and calls run(r). Each tests/gradcheck/*.td
is compiled with `tdc --lib`, once as it is and once with --no-fuse (the
gradient's maps fuse like any others), and linked with gradcheck.c, as
bench/cpu/run.sh links bench.c (all programs in parallel); the driver then
checks every pair f_CASE / g_CASE of the program (gradcheck.c's header says
how: h = 1e-6 * max(1, |x|), rtol 1e-6, atol 1e-9 in f64, looser only for
cases through f32 values, and exact analytic values at ties and zeros), and
each case it reports is one check here, named PROGRAM.CASE (fused) or
PROGRAM/no-fuse.CASE.

The `#! CASE WORD ...` lines of a .td (inputs' values and domains, the
tensors differentiated, analytic expectations, tolerances) are handed to
the driver as its SPEC file.

A case that fails because of a compiler bug stays out of the suite: either
commented out in its .td with `# FAILS: what happens`, or (when it compiles)
named in KNOWN_FAILURES with the reason; such a case must still fail (a
known failure that passes is reported, so the list stays current).
"""
import concurrent.futures
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import build_info  # noqa: E402  (tests/build_info.py)
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# "program.case" or "program/no-fuse.case": why it fails (a compiler bug, reported)
KNOWN_FAILURES = {
}

# a name's suffix: tdc's flags
VARIANTS = {"": [], "/no-fuse": ["--no-fuse"]}

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def spec_lines(path):
    """The `#! ` directives of a .td, one per line, without the marker."""
    out = []
    with open(path) as fh:
        for line in fh:
            s = line.strip()
            if s.startswith("#! "):
                out.append(s[3:].strip())
    return out


def build_and_run(tdc, src, variant, tmp):
    """Compiles src, links the driver, runs it: (output, error or None)."""
    name = os.path.basename(src)[:-3] + variant.replace("/", "-")
    work = os.path.join(tmp, name)
    os.makedirs(work, exist_ok=True)
    include, library = build_info.runtime_of(tdc)
    steps = [
        [tdc, "--lib"] + VARIANTS[variant] + [src, "-o", os.path.join(work, "model")],
        ["cc", "-std=c11", "-O1", "-fopenmp"] + build_info.sanitizer_flags(os.path.dirname(tdc)) + ["-I", include, "-I", work,
         os.path.join(HERE, "gradcheck.c"), os.path.join(work, "model.c"), library,
         "-lopenblas", "-lm", "-o", os.path.join(work, "gradcheck")],
    ]
    for argv in steps:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=ENV, errors="replace")
        if p.returncode != 0:
            return None, f"{os.path.basename(argv[0])} exits {p.returncode}\n{p.stdout}{p.stderr}"
    spec = os.path.join(work, "spec.txt")
    with open(spec, "w") as fh:
        fh.write("".join(line + "\n" for line in spec_lines(src)))
    p = subprocess.run([os.path.join(work, "gradcheck"), spec], capture_output=True, text=True, timeout=300,
                       env=ENV, errors="replace")
    if p.returncode not in (0, 1):
        return None, f"gradcheck exits {p.returncode}\n{p.stdout[-3000:]}{p.stderr[-3000:]}"
    return p.stdout, None


def run(r):
    files = sorted(glob.glob(os.path.join(HERE, "*.td")))
    if not files:
        r.fail("gradcheck", "no programs in tests/gradcheck")
        return
    seen = set()
    jobs = [(src, variant) for src in files for variant in VARIANTS]
    with tempfile.TemporaryDirectory(prefix="tdc-gradcheck-") as tmp:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda job: build_and_run(r.tdc, job[0], job[1], tmp), jobs))
    devices = set()
    for (src, variant), (out, err) in zip(jobs, results):
        prog = os.path.basename(src)[:-3] + variant
        if err:
            r.fail(f"gradcheck {prog}", err)
            continue
        devices.update(line[len("# device: "):] for line in out.splitlines() if line.startswith("# device: "))
        verdicts = build_info.driver_verdicts(out)
        if verdicts is None:
            r.fail(f"gradcheck {prog}", f"the driver did not finish\n{out[-3000:]}")
            continue
        for verdict, rest in verdicts:
            key = f"{prog}.{rest.split(':', 1)[0]}"
            seen.add(key)
            build_info.judge(r, f"gradcheck {key}", verdict, KNOWN_FAILURES, key,
                             lambda: rest.split(":", 1)[1].strip() if ":" in rest else rest)
    print(f"gradcheck: evaluated on {', '.join(sorted(devices)) or 'no device'} (the GPU where there is one)")
    for key in sorted(set(KNOWN_FAILURES) - seen):
        r.fail(f"gradcheck {key}", "named in KNOWN_FAILURES but not run")
