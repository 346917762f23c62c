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


def gpu_check(r, build, tmp, name, programs, label):
    """tests/cuda/NAME.c linked with the --lib C of each (program, prefix) in programs: built everywhere,
    run where there is a GPU (its PASS and FAIL lines counted; exit 77, no GPU, said out loud)."""
    work = os.path.join(tmp, name)
    os.makedirs(work)
    sources = []
    for program, prefix in programs:
        code, _, err = r.run(["--lib", program, "-o", os.path.join(work, prefix)])
        if code:
            r.fail(f"cuda: {program} --lib", err)
            return
        sources.append(os.path.join(work, prefix + ".c"))
    exe = os.path.join(work, name)
    p = subprocess.run(["cc", "-std=c11", "-O1", "-fopenmp", "-Wall", "-Wextra", "-Werror"] + build_info.sanitizer_flags(build) +
                       ["-I", os.path.join(ROOT, "runtime"), "-I", work, os.path.join(ROOT, f"tests/cuda/{name}.c")] + sources +
                       [os.path.join(build, "libtdrt.a"), "-lopenblas", "-lm", "-ldl", "-o", exe], capture_output=True, text=True)
    if p.returncode != 0:
        r.fail(f"cuda: {name} builds", p.stderr[-3000:])
        return
    r.ok(f"cuda: {name} builds")
    p = subprocess.run([exe], capture_output=True, text=True, timeout=600)
    if p.returncode == 77:
        print(f"cuda: {label} {p.stdout.strip()}")  # no GPU here: said out loud, counted as nothing
        return
    for line in p.stdout.splitlines():
        if line.startswith("PASS "):
            r.ok("gpu: " + line[5:])
        elif line.startswith("FAIL "):
            r.fail(f"cuda: {label}", line[5:])
    if p.returncode not in (0, 1):
        r.fail(f"cuda: {name}", f"exit {p.returncode}\n{p.stdout[-2000:]}{p.stderr[-2000:]}")


def staged_batches(r, build, tmp):
    """tests/cuda/staged_check.c linked with examples/cruncher.td and tests/cuda/staged.td: staged and device
    batches on the GPU against host batches, bit for bit, and the staging errors."""
    gpu_check(r, build, tmp, "staged_check", [("examples/cruncher.td", "cruncher"), ("tests/cuda/staged.td", "staged")],
              "staged batches")


def random_draws(r, build, tmp):
    """tests/cuda/random_check.c linked with tests/cuda/random.td: random numbers drawn on the GPU against the
    CPU's, in functions and in a train step replayed as a graph."""
    gpu_check(r, build, tmp, "random_check", [("tests/cuda/random.td", "random")], "random numbers")


def device_choice(r, tmp):
    """--device on a compiled program: a bad name is refused; cpu runs; cuda
    runs where there is a GPU and says why not elsewhere, where auto falls
    back to the CPU with a note. On a GPU: the initial params are the CPU's
    bit for bit (one seed, the same Philox stream), and 20 steps of training
    land where the CPU's do."""
    exe = os.path.join(tmp, "linreg")
    code, _, err = r.run(["examples/linreg.td", "-o", exe], timeout=300)
    if code:
        r.fail("cuda: linreg", err)
        return

    def model(*args):
        return subprocess.run([exe] + list(args), capture_output=True, text=True, timeout=300, cwd=tmp)

    p = model("train", "--steps", "1", "--device", "gpu")
    want = "--device gpu: unknown device (auto, cpu or cuda)"
    if p.returncode == 2 and want in p.stderr:
        r.ok("cuda: --device gpu is refused")
    else:
        r.fail("cuda: --device gpu", f"exit {p.returncode}, wanted 2 and '{want}'\n{p.stderr}")
    p = model("train", "--steps", "2", "--device", "cpu")
    if p.returncode == 0:
        r.ok("cuda: --device cpu trains")
    else:
        r.fail("cuda: --device cpu", p.stderr)
    p = model("train", "--steps", "2", "--allow-tf32")
    q = model("train", "--steps", "2", "--allow-tf32=yes")
    if p.returncode == 0 and q.returncode == 2 and "option --allow-tf32 takes no value" in q.stderr:
        r.ok("cuda: --allow-tf32 is a flag")
    else:
        r.fail("cuda: --allow-tf32", f"exit {p.returncode}: {p.stderr}\nexit {q.returncode}: {q.stderr}")
    gpu = model("train", "--steps", "2", "--device", "cuda")
    auto = model("train", "--steps", "2", "--device", "auto")
    if gpu.returncode == 1 and ("no CUDA driver" in gpu.stderr or "no GPU" in gpu.stderr):
        r.ok("cuda: --device cuda without a GPU says why")
        if auto.returncode == 0 and "note: device auto: running on the CPU: " in auto.stderr:
            r.ok("cuda: --device auto falls back to the CPU with a note")
        else:
            r.fail("cuda: --device auto", f"exit {auto.returncode}\n{auto.stderr}")
        return
    if gpu.returncode != 0:
        r.fail("cuda: --device cuda", f"exit {gpu.returncode}\n{gpu.stderr}")
        return
    r.ok("cuda: --device cuda trains on the GPU")
    if auto.returncode == 0 and "note:" not in auto.stderr:
        r.ok("cuda: --device auto takes the GPU")
    else:
        r.fail("cuda: --device auto", f"exit {auto.returncode}\n{auto.stderr}")
    for dev in ("cpu", "cuda"):
        model("params", "--seed", "7", "--out", f"init-{dev}.safetensors", "--device", dev)
        model("train", "--seed", "7", "--steps", "20", "--ckpt", f"end-{dev}.safetensors", "--device", dev)
    try:
        import numpy as np
        from safetensors.numpy import load_file
        a, b = (open(os.path.join(tmp, f"init-{d}.safetensors"), "rb").read() for d in ("cpu", "cuda"))
        if a == b:
            r.ok("cuda: initial params bit for bit on the CPU and the GPU")
        else:
            r.fail("cuda: initial params", "the files differ")
        c, g = (load_file(os.path.join(tmp, f"end-{d}.safetensors")) for d in ("cpu", "cuda"))
        if np.allclose(c["w"], g["w"], rtol=1e-4, atol=1e-5):
            r.ok("cuda: 20 SGD steps on the GPU land where the CPU's do (rtol 1e-4)")
        else:
            r.fail("cuda: 20 steps", f"cpu {c['w'].ravel()[:4]} gpu {g['w'].ravel()[:4]}")
    except (OSError, ImportError) as e:
        r.fail("cuda: params and checkpoints", str(e))


def abi(r, tmp):
    """abi_check.c: the runtime's copies of CUDA's constants and layouts against the toolkit's headers, where
    they are found (CI has the toolkit); skipped, visibly, elsewhere."""
    dirs = [os.path.join(d, "include") for d in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda") if d]
    include = next((d for d in dirs if os.path.exists(os.path.join(d, "cublasLt.h"))), None)
    if not include:
        print(f"cuda: ABI check skipped: no cublasLt.h under {', '.join(dirs)}")  # no toolkit: said out loud
        return
    exe = os.path.join(tmp, "abi_check")
    here = os.path.join(ROOT, "tests/cuda")
    p = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", os.path.join(ROOT, "runtime"), "-I", here,
                        "-isystem", include, os.path.join(here, "abi_check.c"), os.path.join(here, "abi_ours.c"), "-o", exe],
                       capture_output=True, text=True)
    if p.returncode != 0:
        r.fail("cuda: abi_check builds", p.stderr[-3000:])
        return
    p = subprocess.run([exe], capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if line.startswith("PASS "):
            r.ok("cuda: " + line[5:])
        elif line.startswith("FAIL "):
            r.fail("cuda: abi", line[5:])
    if p.returncode not in (0, 1) or not p.stdout.strip():
        r.fail("cuda: abi_check", f"exit {p.returncode}\n{p.stdout[-2000:]}{p.stderr[-2000:]}")


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
        abi(r, tmp)
        gpu_kernels(r, build, tmp)
        staged_batches(r, build, tmp)
        random_draws(r, build, tmp)
        device_choice(r, tmp)
