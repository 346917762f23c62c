"""Code generation: goldens of --emit=ir and --emit=plan, warning-free C for
every example, the embedding example (also under valgrind), and run-time
conditions on the dims."""
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import build_info  # noqa: E402  (tests/build_info.py)
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Wshadow", "-Werror", "-fopenmp", "-I", os.path.join(ROOT, "runtime"), "-c"]


def goldens(r):
    files = sorted(glob.glob(os.path.join(ROOT, "tests/codegen/*.td")))
    if not files:
        r.fail("codegen", "no tests found")
    for path in files:
        rel = os.path.relpath(path, ROOT)
        kinds = ["ir", "plan"] + (["c"] if os.path.exists(path[:-3] + ".c.golden") else [])
        for kind in kinds:
            code, out, err = r.run([f"--emit={kind}", rel])
            if code != 0 or err:
                r.fail(f"{rel} --emit={kind}", f"exit status {code}\n{err}")
                continue
            r.golden(f"{rel} --emit={kind}", path[:-3] + ("." + kind if kind != "c" else ".c.golden"), out)


def errors(r):
    """Programs that check but cannot be compiled: exit 1 and the message in FILE.err."""
    files = sorted(glob.glob(os.path.join(ROOT, "tests/codegen/errors/*.td")))
    if not files:
        r.fail("codegen errors", "no tests found")
    for path in files:
        rel = os.path.relpath(path, ROOT)
        code, out, err = r.run(["--emit=ir", rel])
        if code != 1:
            r.fail(rel, f"exit status {code}, expected 1\n{err}")
            continue
        r.golden(rel, path[:-3] + ".err", err)


def warning_free(r, tmp):
    programs = sorted(glob.glob(os.path.join(ROOT, "examples/*.td")) + glob.glob(os.path.join(ROOT, "tests/codegen/*.td")))
    for path in programs:
        rel = os.path.relpath(path, ROOT)
        c_file = os.path.join(tmp, os.path.basename(path)[:-3] + ".c")
        code, out, err = r.run(["--emit=c", rel, "-o", c_file])
        if code != 0:
            r.fail(f"{rel} --emit=c", f"exit status {code}\n{err}")
            continue
        p = subprocess.run(["cc"] + CFLAGS + [c_file, "-o", c_file + ".o"], capture_output=True, text=True)
        if p.returncode != 0 or p.stderr:
            r.fail(f"{rel}: generated C", f"cc -Wall -Wextra -Wshadow -Werror failed:\n{p.stderr[-3000:]}")
        else:
            r.ok(rel)
        parts_compile(r, rel, tmp)


def parts_compile(r, rel, tmp):
    """The C of an executable as tdc -o compiles it in parts (TDC_C_PARTS=3): each part, and the whole file
    without TDG_PART, warning-free; the parts' objects link with the runtime into a program that runs."""
    base = os.path.join(tmp, os.path.basename(rel)[:-3] + "_parts")
    p = subprocess.run([r.tdc, "--emit=c", rel, "-o", base + ".c"], cwd=ROOT, capture_output=True, text=True,
                       env=dict(os.environ, TDC_C_PARTS="3"))
    if p.returncode != 0:
        r.fail(f"{rel} --emit=c in parts", p.stderr)
        return
    objects = []
    for k in ("0", "1", "2", None):
        obj = f"{base}.{k or 'all'}.o"
        define = [f"-DTDG_PART={k}"] if k else []
        p = subprocess.run(["cc"] + CFLAGS + define + [base + ".c", "-o", obj], capture_output=True, text=True)
        if p.returncode != 0 or p.stderr:
            r.fail(f"{rel}: generated C, part {k or '(all)'}", f"cc -Wall -Wextra -Wshadow -Werror failed:\n{p.stderr[-3000:]}")
            return
        if k:
            objects.append(obj)
    build = os.path.dirname(r.tdc)
    exe = base + ".exe"
    p = subprocess.run(["cc", "-fopenmp"] + objects + [os.path.join(build, "libtdrt.a"), "-lopenblas", "-lm", "-ldl", "-o", exe]
                       + build_info.sanitizer_flags(build), capture_output=True, text=True)
    q = subprocess.run([exe, "info"], capture_output=True, text=True) if p.returncode == 0 else None
    if p.returncode != 0 or q.returncode != 0 or not q.stdout.startswith("model "):
        r.fail(f"{rel}: its three parts linked", (p.stderr + (q.stderr if q else ""))[-3000:])
    else:
        r.ok(f"{rel}: in three parts")


def embed(r, build):
    binary = os.path.join(build, "embed")
    if not os.path.exists(binary):
        r.fail("embed", f"{binary} is missing (build it with cmake)")
        return
    p = subprocess.run([binary], capture_output=True, text=True, timeout=120)
    if p.returncode != 0 or "embed: ok" not in p.stdout:
        r.fail("embed", f"exit status {p.returncode}\n{p.stdout}{p.stderr}")
    else:
        r.ok("embed")
    if build_info.sanitized(build):
        return  # the sanitizers watched that run; valgrind cannot run an instrumented binary
    p = subprocess.run(["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=9",
                        "--quiet", binary], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        r.fail("embed under valgrind", f"exit status {p.returncode}\n{p.stderr[-3000:]}")
    else:
        r.ok("embed under valgrind")


def run_time_conditions(r, tmp):
    exe = os.path.join(tmp, "checks")
    code, out, err = r.run(["tests/codegen/checks.td", "-o", exe])
    if code != 0:
        r.fail("checks.td", f"does not compile: {err}")
        return
    import numpy as np
    for n, want_code, want in ((4, 0, None), (5, 2, "batch divisible by 2")):
        x = os.path.join(tmp, f"x{n}.npy")
        np.save(x, np.arange(n, dtype=np.float32))
        p = subprocess.run([exe, "run", "halves", "--in", f"x={x}", "--out", os.path.join(tmp, "y.npy")],
                           capture_output=True, text=True, timeout=60)
        name = f"checks.td with batch = {n}"
        if p.returncode != want_code or (want and want not in p.stderr) or (want and p.stderr.count("\n") != 1):
            r.fail(name, f"exit status {p.returncode}, expected {want_code}; stderr: {p.stderr}")
        elif want_code == 0 and not np.array_equal(np.load(os.path.join(tmp, "y.npy")), np.arange(n).reshape(2, n // 2)):
            r.fail(name, "wrong result")
        else:
            r.ok(name)


def plan_matches_runtime(r, tmp):
    """The bytes `--emit=plan` promises are the bytes the program allocates."""
    import re
    for rel in ("examples/lesson.td", "examples/cruncher.td"):
        code, plan, err = r.run(["--emit=plan", rel])
        exe = os.path.join(tmp, os.path.basename(rel)[:-3])
        code2, _, err2 = r.run([rel, "-o", exe])
        if code or code2:
            r.fail(f"{rel}: plan against info", err + err2)
            continue
        dims = ["--dims", "batch=3"] if "cruncher" in rel else []
        info = subprocess.run([exe, "info"] + dims, capture_output=True, text=True).stdout
        totals = [t for t in re.findall(r"^  total: (.*) bytes$", plan, re.M)]
        def value(text):  # evaluates the plan's formulas at batch = 3
            return eval(text.replace("batch", "3"), {"align64": lambda v: (v + 63) // 64 * 64, "max": max})
        params, workspaces = value(totals[0]), [value(t) for t in totals[1:]]
        got = {k: int(v) for k, v in re.findall(r"^  (params|workspace) +(\d+) B", info, re.M)}
        want = {"params": params, "workspace": max(workspaces, default=0)}
        if got != want:
            r.fail(f"{rel}: plan against info", f"--emit=plan says {want}, ./model info says {got}\n{plan}\n{info}")
        else:
            r.ok(f"{rel}: plan against info")


def run(r):
    build = os.path.dirname(r.tdc)
    goldens(r)
    errors(r)
    with tempfile.TemporaryDirectory() as tmp:
        warning_free(r, tmp)
        run_time_conditions(r, tmp)
        plan_matches_runtime(r, tmp)
    embed(r, build)
