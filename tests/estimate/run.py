"""`tdc estimate` (compiler/estimate.c) and the device table (runtime/td_devices.h).
Loaded by tests/run_tests.py (suite `estimate`).

estimate_main() is run through tests/estimate/driver.c, compiled here with
compiler/estimate.c: the driver's `--program SPEC` stands in for a compiled
program (its FLOPs, tokens, bytes and params), so the FILE.td form is tested
without the compiler. Once tdc itself answers `tdc estimate --help`, every
train/fit/devices case is also run through tdc and must print the same.

  NAME.args     one command line (after `estimate`), its stdout in NAME.out,
                exit 0, nothing on stderr
  errors.txt    one command line a line (`[N] ARGS` when the exit status is
                N, not 2); each must print one `tdc: error: ` line and
                nothing on stdout; all their messages are errors.out
  td_devices.c  the header from strict C11, lookups checked, its table in
                td_devices.out
  docs/ACCOUNTING.md  every `$ tdc estimate ...` line in a ```console block
                is followed by exactly what it prints
"""
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import build_info  # noqa: E402  (tests/build_info.py)
import re
import shlex
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "tests/estimate")
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Wshadow", "-Werror"]


def sanitizer_flags(r):
    flags = build_info.sanitizer_flags(os.path.dirname(r.tdc))
    return flags + ["-fno-sanitize-recover=undefined"] if flags else []


def compile_c(r, name, sources, out, flags):
    cmd = ["cc"] + CFLAGS + flags + sources + ["-lm", "-o", out]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0 or p.stderr:
        r.fail(name, f"{' '.join(cmd)} (exit {p.returncode})\n{p.stderr}")
        return False
    r.ok(name)
    return True


def run_driver(driver, args):
    p = subprocess.run([driver] + args, cwd=ROOT, capture_output=True, text=True, timeout=30, errors="replace")
    return p.returncode, p.stdout, p.stderr


def uses_program(args):
    return bool(args) and args[0] == "--program"


def read_args(path):
    with open(path) as f:
        lines = [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
    return shlex.split(lines[0]) if lines else []


def ok_cases(r, driver, tdc_has_estimate):
    files = sorted(glob.glob(os.path.join(HERE, "*.args")))
    if not files:
        r.fail("estimate", "no tests/estimate/*.args found")
    for path in files:
        name = "estimate: " + os.path.basename(path)[:-5]
        args = read_args(path)
        code, out, err = run_driver(driver, args)
        if code != 0 or err:
            r.fail(name, f"exit status {code}, expected 0\n{err}")
            continue
        if not r.golden(name, path[:-5] + ".out", out) or uses_program(args) or not tdc_has_estimate:
            continue
        tcode, tout, terr = r.run(["estimate"] + args)
        if (tcode, tout, terr) != (0, out, ""):
            r.fail(name + " (through tdc)", f"exit status {tcode}\n{terr}", out, tout)
        else:
            r.ok(name + " (through tdc)")


ERROR_LINE = re.compile(r"^(?:\[(\d+)\]\s*)?(.*)$")


def error_cases(r, driver, tdc_has_estimate):
    with open(os.path.join(HERE, "errors.txt")) as f:
        lines = [line.rstrip("\n") for line in f if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        r.fail("estimate errors", "no cases in tests/estimate/errors.txt")
    transcript = []
    for line in lines:
        m = ERROR_LINE.match(line.strip())
        expected_code = int(m.group(1)) if m.group(1) else 2
        args = shlex.split(m.group(2))
        name = f"estimate error: {m.group(2)}"
        code, out, err = run_driver(driver, args)
        transcript.append(f"$ estimate {m.group(2)}\n{err}")
        problems = []
        if code != expected_code:
            problems.append(f"exit status {code}, expected {expected_code}")
        if out:
            problems.append(f"stdout {out!r}, expected nothing")
        if not err.startswith("tdc: error: ") or err.count("\n") != 1 or not err.endswith("\n"):
            problems.append(f"stderr {err!r}, expected one line 'tdc: error: ...'")
        if not problems and tdc_has_estimate and not uses_program(args):
            tcode, tout, terr = r.run(["estimate"] + args)
            if (tcode, tout, terr) != (code, out, err):
                problems.append(f"through tdc: exit {tcode}, stdout {tout!r}, stderr {terr!r}")
        if problems:
            r.fail(name, "; ".join(problems))
        else:
            r.ok(name)
    r.golden("estimate errors (messages)", os.path.join(HERE, "errors.out"), "".join(transcript))


def devices(r, tmp, sanitize):
    binary = os.path.join(tmp, "td_devices")
    if not compile_c(r, "estimate: td_devices.h compiles as strict C11",
                     ["tests/estimate/td_devices.c"], binary, ["-pedantic", "-I", "runtime"] + sanitize):
        return
    p = subprocess.run([binary], capture_output=True, text=True, timeout=30)
    if p.returncode != 0 or p.stderr:
        r.fail("estimate: td_devices.h lookups", f"exit status {p.returncode}\n{p.stdout}{p.stderr}")
        return
    r.ok("estimate: td_devices.h lookups")
    r.golden("estimate: td_devices.h table", os.path.join(HERE, "td_devices.out"), p.stdout)


CONSOLE = re.compile(r"^```console\n(.*?)^```[ \t]*$", re.S | re.M)


def docs(r, driver):
    """Each `$ tdc estimate ARGS` line of a ```console block in
    docs/ACCOUNTING.md, with the lines after it up to the next `$ ` line or
    the block's end as its output. --update rewrites the outputs."""
    path = os.path.join(ROOT, "docs/ACCOUNTING.md")
    if not os.path.exists(path):
        r.fail("estimate docs", "docs/ACCOUNTING.md is missing")
        return
    text = open(path).read()
    edits = []
    seen = 0
    for block in CONSOLE.finditer(text):
        body, start = block.group(1), block.start(1)
        commands = list(re.finditer(r"^\$ tdc estimate (.*)\n", body, re.M))
        for i, cmd in enumerate(commands):
            args = shlex.split(cmd.group(1))
            if args and args[0].endswith(".td"):
                continue  # needs a compiled program: tests/estimate/*.args cover the form
            seen += 1
            end = commands[i + 1].start() if i + 1 < len(commands) else len(body)
            shown = body[cmd.end():end]
            line = text[: start + cmd.start()].count("\n") + 1
            name = f"docs/ACCOUNTING.md:{line}: tdc estimate {cmd.group(1)}"
            code, out, err = run_driver(driver, args)
            actual = out + err
            if r.update:
                edits.append((start + cmd.end(), start + end, actual))
                r.ok(name)
            elif shown != actual:
                r.fail(name, "the output shown is not what it prints", shown, actual)
            else:
                r.ok(name)
    if seen == 0:
        r.fail("estimate docs", "no `$ tdc estimate` examples in docs/ACCOUNTING.md")
    if edits:
        for s, e, new in sorted(edits, reverse=True):
            text = text[:s] + new + text[e:]
        with open(path, "w") as f:
            f.write(text)


def run(r):
    sanitize = sanitizer_flags(r)
    with tempfile.TemporaryDirectory() as tmp:
        driver = os.path.join(tmp, "driver")
        built = compile_c(r, "estimate: driver and compiler/estimate.c compile warning-free",
                          ["-I", "compiler", "-I", "runtime", "tests/estimate/driver.c", "compiler/estimate.c"],
                          driver, sanitize)
        devices(r, tmp, sanitize)
        if not built:
            return
        code, _, _ = r.run(["estimate", "--help"])
        tdc_has_estimate = code == 0
        ok_cases(r, driver, tdc_has_estimate)
        error_cases(r, driver, tdc_has_estimate)
        docs(r, driver)
