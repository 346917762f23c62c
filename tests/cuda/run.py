"""Every generated CUDA kernel compiles through NVRTC: the kernels of the
examples and of the test programs (tdc --emit=cuda), for compute_90 and
sm_80, with no error or warning, through the runtime's td_nvrtc_compile.
Skipped, visibly, only where NVRTC cannot be loaded. Where there is a GPU,
the kernels of tests/cuda/kernels.td run on it against the C backend
(kernel_check.c); skipped, visibly, elsewhere."""
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import build_info  # noqa: E402  (tests/build_info.py)
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROGRAMS = ["examples/*.td", "tests/codegen/*.td", "tests/numeric/*.td", "tests/gradcheck/*.td", "tests/report/*.td"]


def gpu_kernels(r, build, tmp):
    work = os.path.join(tmp, "kernels")
    os.makedirs(work)
    code, _, err = r.run(["--lib", "tests/cuda/kernels.td", "-o", os.path.join(work, "model")])
    code2, _, err2 = r.run(["--emit=cuda", "tests/cuda/kernels.td", "-o", os.path.join(work, "k.cu")])
    if code or code2:
        r.fail("cuda: kernels.td", err + err2)
        return
    exe = os.path.join(work, "kernel_check")
    p = subprocess.run(["cc", "-std=c11", "-O1"] + build_info.sanitizer_flags(build) +
                       ["-I", os.path.join(ROOT, "runtime"), "-I", work, os.path.join(ROOT, "tests/cuda/kernel_check.c"),
                        os.path.join(work, "model.c"), os.path.join(build, "libtdrt.a"), "-lopenblas", "-lm", "-ldl", "-o", exe],
                       capture_output=True, text=True)
    if p.returncode != 0:
        r.fail("cuda: kernel_check", p.stderr[-3000:])
        return
    for batch in ("5", "1000"):
        p = subprocess.run([exe, os.path.join(work, "k.cu"), batch], capture_output=True, text=True, timeout=600)
        if p.returncode == 77:
            print(f"cuda: GPU kernels {p.stdout.strip()}")  # no GPU here: said out loud, counted as nothing
            return
        for line in p.stdout.splitlines():
            if line.startswith("PASS "):
                r.ok(f"gpu batch={batch}: " + line[5:])
            elif line.startswith("FAIL "):
                r.fail(f"cuda: gpu batch={batch}", line[5:])
        if p.returncode not in (0, 1):
            r.fail("cuda: kernel_check", f"exit {p.returncode}\n{p.stdout[-2000:]}{p.stderr[-2000:]}")


def run(r):
    build = os.path.dirname(r.tdc)
    with tempfile.TemporaryDirectory() as tmp:
        driver = os.path.join(tmp, "nvrtc_check")
        p = subprocess.run(["cc", "-std=c11", "-O1"] + build_info.sanitizer_flags(build) +
                           ["-I", os.path.join(ROOT, "runtime"), os.path.join(ROOT, "tests/cuda/nvrtc_check.c"),
                            os.path.join(build, "libtdrt.a"), "-lopenblas", "-lm", "-ldl", "-o", driver],
                           capture_output=True, text=True)
        if p.returncode != 0:
            r.fail("cuda: nvrtc_check", p.stderr[-3000:])
            return
        sources = []
        for pattern in PROGRAMS:
            for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
                rel = os.path.relpath(path, ROOT)
                out = os.path.join(tmp, rel.replace("/", "_")[:-3] + ".cu")
                code, _, err = r.run(["--emit=cuda", rel, "-o", out])
                if code != 0:
                    r.fail(f"cuda: {rel} --emit=cuda", err)
                    continue
                sources.append(out)
        if not sources:
            r.fail("cuda", "no programs found")
            return
        # two drivers at once: NVRTC takes seconds a program
        halves = [sources[0::2], sources[1::2]]
        procs = [subprocess.Popen([driver] + h, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for h in halves if h]
        for proc in procs:
            out, err = proc.communicate(timeout=1800)
            if proc.returncode == 77:
                print(f"cuda: {out.strip()}")  # no NVRTC on this machine: nothing to check, said out loud
                continue
            for line in out.splitlines():
                if line.startswith("PASS "):
                    r.ok(line[5:])
                elif line.startswith("FAIL "):
                    r.fail("cuda: " + line[5:].split(":")[0], line[5:])
            if proc.returncode not in (0, 1):
                r.fail("cuda: nvrtc_check", f"exit {proc.returncode}\n{out[-2000:]}{err[-2000:]}")
        gpu_kernels(r, build, tmp)
