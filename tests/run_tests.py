#!/usr/bin/env python3
"""The test runner: runs every suite against a built tdc and ends with
`N passed, N failed`. Each failure prints a unified diff of expected against
actual output.

  python3 tests/run_tests.py [--tdc build/tdc] [--update] [SUITE...]

Suites:
  diagnostics  tests/diagnostics/*.td: `tdc check` fails with exactly NAME.err
               (stderr); NAME.json, if present, pins --diagnostics=json
  types        tests/types/*.td: `tdc check --types` succeeds with NAME.types;
               NAME.runtime, if present, pins --runtime-checks
  examples     examples/*.td and stdlib/*.td check clean, with no output
  docs         every ```td block in docs/*.md and README.md checks clean; every
               ```td-error FILE block fails with the output in the next ```text block
  cli          command-line behaviour (tests/cli.py)
  oracle       shape inference against einops and numpy (tests/oracle/)
  runtime      the runtime's C unit tests (build/test_runtime) and tests/runtime/*_oracle.py
  codegen      IR and memory-plan goldens, warning-free generated C, examples/embed (tests/codegen/)
  numeric      compiled programs run against numpy and einops (tests/numeric/)
  training     compiled programs trained end to end (tests/training/)
  report       tdc report's goldens and the lesson's FLOP counts (tests/report/)
  cuda         every generated CUDA kernel compiles through NVRTC (tests/cuda/)
  estimate     tdc estimate's napkin math and the device table (tests/estimate/)
  gradcheck    grad() against central differences, in f64 (tests/gradcheck/)
  costcheck    planned FLOPs against counted ones, 200 random functions (tests/costcheck/)

--update rewrites the expected files from the actual output (review the diff).
"""
import argparse
import difflib
import glob
import importlib.util
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Runner:
    def __init__(self, tdc, update):
        self.tdc = tdc
        self.update = update
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def run(self, args, cwd=ROOT, timeout=60):
        p = subprocess.run([self.tdc] + args, cwd=cwd, capture_output=True, text=True,
                           timeout=timeout, errors="replace")
        # the standard library is found by absolute path; goldens hold it relative to the checkout
        return p.returncode, p.stdout.replace(ROOT + "/", ""), p.stderr.replace(ROOT + "/", "")

    def ok(self, name):
        self.passed += 1

    def fail(self, name, why, expected=None, actual=None):
        self.failed += 1
        print(f"FAIL {name}: {why}")
        if expected is not None and actual is not None:
            diff = difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                        "expected", "actual")
            sys.stdout.writelines("    " + line if line.endswith("\n") else "    " + line + "\n"
                                  for line in diff)

    def golden(self, name, path, actual):
        """Compares actual output with the file at path (or writes it with --update)."""
        if self.update:
            with open(path, "w") as f:
                f.write(actual)
            self.ok(name)
            return True
        if not os.path.exists(path):
            self.fail(name, f"missing expected file {os.path.relpath(path, ROOT)}")
            return False
        with open(path) as f:
            expected = f.read()
        if expected != actual:
            self.fail(name, f"output differs from {os.path.relpath(path, ROOT)}", expected, actual)
            return False
        self.ok(name)
        return True


def suite_diagnostics(r):
    files = sorted(glob.glob(os.path.join(ROOT, "tests/diagnostics/*.td")))
    if not files:
        r.fail("diagnostics", "no tests found")
    for path in files:
        rel = os.path.relpath(path, ROOT)
        base = path[:-3]
        code, out, err = r.run(["check", rel])
        if code != 1:
            r.fail(rel, f"exit status {code}, expected 1\n{err}")
            continue
        if out:
            r.fail(rel, f"unexpected standard output:\n{out}")
            continue
        r.golden(rel, base + ".err", err)
        if os.path.exists(base + ".json"):
            code, out, err = r.run(["check", "--diagnostics=json", rel])
            r.golden(rel + " (json)", base + ".json", err)


def suite_types(r):
    files = sorted(glob.glob(os.path.join(ROOT, "tests/types/*.td")))
    if not files:
        r.fail("types", "no tests found")
    for path in files:
        rel = os.path.relpath(path, ROOT)
        base = path[:-3]
        code, out, err = r.run(["check", "--types", rel])
        if code != 0 or err:
            r.fail(rel, f"exit status {code}, expected 0\n{err}")
            continue
        r.golden(rel, base + ".types", out)
        if os.path.exists(base + ".runtime"):
            code, out, err = r.run(["check", "--runtime-checks", rel])
            r.golden(rel + " (runtime checks)", base + ".runtime", out)


def suite_examples(r):
    files = sorted(glob.glob(os.path.join(ROOT, "examples/*.td")) + glob.glob(os.path.join(ROOT, "stdlib/*.td")))
    if not files:
        r.fail("examples", "no examples found")
    for path in files:
        rel = os.path.relpath(path, ROOT)
        code, out, err = r.run(["check", rel])
        if code != 0 or out or err:
            r.fail(rel, f"does not check clean (exit {code})\n{out}{err}")
        else:
            r.ok(rel)


DOC_BLOCK = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)


def suite_docs(r):
    """Every ```td block checks clean. Every ```td-error FILE [ARGS] block is a
    failing program: `tdc check ARGS FILE` (run where FILE is) must print
    exactly the next ```text block, which --update rewrites. Every ```td-emit
    FILE ARGS block is a program whose `tdc ARGS FILE` output (--emit=ir,
    --emit=plan) is the next ```text block."""
    blocks = 0
    for md in sorted(glob.glob(os.path.join(ROOT, "docs/*.md")) + [os.path.join(ROOT, "README.md")]):
        if not os.path.exists(md):
            continue
        text = open(md).read()
        matches = list(DOC_BLOCK.finditer(text))
        edits = []
        for i, m in enumerate(matches):
            info = m.group(1).split()
            if not info or info[0] not in ("td", "td-error", "td-emit"):
                continue
            blocks += 1
            line = text[: m.start()].count("\n") + 2
            name = f"{os.path.relpath(md, ROOT)}:{line}"
            fname = info[1] if info[0] in ("td-error", "td-emit") and len(info) > 1 else "block.td"
            with tempfile.TemporaryDirectory() as tmp:
                with open(os.path.join(tmp, fname), "w") as f:
                    f.write(m.group(2))
                if info[0] == "td-emit":  # tdc's own command line: `report --dims batch=8`, `--emit=ir`
                    args = info[2:] + [fname]
                else:
                    args = ["check", "-I", os.path.join(ROOT, "examples")] + info[2:] + [fname]
                code, out, err = r.run(args, cwd=tmp)
            if info[0] == "td-emit":  # compared like an error example, with stdout for stderr
                if code != 0:
                    r.fail(name, f"tdc {' '.join(info[2:])} fails (exit {code})\n{err}")
                    continue
                code, err = 1, out
            if info[0] == "td":
                if code != 0:
                    r.fail(name, f"example does not check (exit {code})\n{err}")
                else:
                    r.ok(name)
                continue
            following = next((n for n in matches[i + 1:] if n.group(1).strip() == "text"), None)
            if code != 1:
                r.fail(name, f"the error example checks with exit status {code}, expected 1")
            elif following is None:
                r.fail(name, "an error example needs a ```text block with its output after it")
            elif r.update:
                edits.append((following.start(2), following.end(2), err))
                r.ok(name)
            elif following.group(2) != err:
                r.fail(name, "the ```text block after this error example is not what tdc prints",
                       following.group(2), err)
            else:
                r.ok(name)
        if edits:
            for start, end, new_text in sorted(edits, reverse=True):
                text = text[:start] + new_text + text[end:]
            with open(md, "w") as f:
                f.write(text)
    if blocks == 0:
        r.fail("docs", "no ```td blocks found in docs/")


def suite_runtime(r):
    """The runtime's C unit tests (build/test_runtime), one check each, then
    every tests/runtime/*_oracle.py (checks against numpy and friends)."""
    build = os.path.dirname(r.tdc)
    binary = os.path.join(build, "test_runtime")
    if not os.path.exists(binary):
        r.fail("runtime", f"{binary} is missing (build it with cmake)")
        return
    p = subprocess.run([binary], capture_output=True, text=True, timeout=600, errors="replace")
    fails = [line for line in p.stdout.splitlines() if line.startswith("FAIL ")]
    tally = re.search(r"^(\d+) passed, (\d+) failed$", p.stdout, re.M)
    if not tally or p.returncode not in (0, 1) or int(tally.group(2)) != len(fails):
        r.fail("runtime", f"test_runtime did not finish (exit {p.returncode})\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
        return
    for line in fails:
        r.fail("runtime", line[5:])
    for _ in range(int(tally.group(1))):
        r.ok("runtime")
    for path in sorted(glob.glob(os.path.join(ROOT, "tests/runtime/*_oracle.py"))):
        load_module(path).run(r, build)


def load_module(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def suite_cli(r):
    load_module(os.path.join(ROOT, "tests/cli.py")).run(r)


def suite_codegen(r):
    load_module(os.path.join(ROOT, "tests/codegen/run.py")).run(r)


def suite_numeric(r):
    load_module(os.path.join(ROOT, "tests/numeric/run.py")).run(r)


def suite_gradcheck(r):
    load_module(os.path.join(ROOT, "tests/gradcheck/run.py")).run(r)


def suite_costcheck(r):
    load_module(os.path.join(ROOT, "tests/costcheck/run.py")).run(r)


def suite_training(r):
    load_module(os.path.join(ROOT, "tests/training/run.py")).run(r)


def suite_report(r):
    load_module(os.path.join(ROOT, "tests/report/run.py")).run(r)


def suite_estimate(r):
    load_module(os.path.join(ROOT, "tests/estimate/run.py")).run(r)


def suite_cuda(r):
    load_module(os.path.join(ROOT, "tests/cuda/run.py")).run(r)


def suite_oracle(r):
    path = os.path.join(ROOT, "tests/oracle/run.py")
    if not os.path.exists(path):
        r.fail("oracle", "tests/oracle/run.py is missing")
        return
    load_module(path).run(r)


SUITES = {"diagnostics": suite_diagnostics, "types": suite_types, "examples": suite_examples,
          "docs": suite_docs, "cli": suite_cli, "oracle": suite_oracle, "runtime": suite_runtime,
          "codegen": suite_codegen, "training": suite_training, "report": suite_report, "cuda": suite_cuda, "estimate": suite_estimate, "numeric": suite_numeric, "gradcheck": suite_gradcheck,
          "costcheck": suite_costcheck}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tdc", default=os.path.join(ROOT, "build/tdc"))
    ap.add_argument("--update", action="store_true")
    ap.add_argument("suites", nargs="*")
    args = ap.parse_args()
    r = Runner(os.path.abspath(args.tdc), args.update)
    for name in args.suites or SUITES:
        if name not in SUITES:
            print(f"unknown suite {name}; suites: {' '.join(SUITES)}")
            return 2
        SUITES[name](r)
    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed or r.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
