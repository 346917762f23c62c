"""probe.py - building and driving the small C programs the runtime's oracle
scripts test through (tests/runtime/*_probe_main.c).

compile_probe builds one with the runtime sources it names, warning-free
(-Werror), with the sanitizers when the build under test has them and with
OpenBLAS's include directory when that build found one. run_probe feeds a
command a line and expects one answer a line.
"""
import os
import re
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def compile_probe(r, name, build_dir, tmp, sources, libs=("-lm",)):
    """Builds tests/runtime/<first source> with runtime/<rest>; returns the
    executable's path, or None after recording one failure named `name`."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        r.fail(name, "no C compiler (cc) to build the probe")
        return None
    exe = os.path.join(tmp, os.path.splitext(os.path.basename(sources[0]))[0])
    cmd = [cc, "-std=c11", "-D_DEFAULT_SOURCE", "-O1", "-g", "-Wall", "-Wextra", "-Wshadow", "-Werror",
           "-I", os.path.join(ROOT, "runtime")]
    cache = os.path.join(build_dir, "CMakeCache.txt")
    text = open(cache).read() if os.path.exists(cache) else ""
    m = re.search(r"^CBLAS_INCLUDE:PATH=(.+)$", text, re.M)
    if m and os.path.isdir(m.group(1)):
        cmd += ["-isystem", m.group(1)]
    if "TDC_SANITIZE:BOOL=ON" in text:
        cmd[1:1] = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer"]
    cmd += [os.path.join(ROOT, s) for s in sources] + list(libs) + ["-o", exe]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        r.fail(name, f"cannot compile the probe:\n{' '.join(cmd)}\n{p.stderr[-3000:]}")
        return None
    return exe


def run_probe(exe, commands, timeout=120):
    """One command a line in, one answer a line out; raises if the probe
    stops early."""
    p = subprocess.run([exe], input="".join(c + "\n" for c in commands), capture_output=True, text=True,
                       timeout=timeout)
    answers = p.stdout.splitlines()
    if p.returncode != 0 or len(answers) != len(commands):
        raise RuntimeError(f"the probe stopped (exit {p.returncode}) after {len(answers)} of {len(commands)} "
                           f"answers\n{p.stderr[-3000:]}")
    return answers
