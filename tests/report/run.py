"""tdc report: goldens of the lesson's models, and the lesson's numbers
checked from the JSON report: the matmul's 2BDK forward and 4BDK backward
FLOPs, the Cruncher's 6 x B x params, fusion making a program's report
smaller, and every error of the command line."""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "tests/report")

GOLDENS = [
    ("cruncher", "examples/cruncher.td", ["--dims", "batch=1024"]),
    ("linreg", "examples/linreg.td", []),
    ("attention", "examples/attention.td", ["--dims", "batch=2,seq=16"]),
    ("charlm", "examples/charlm.td", ["--dims", "batch=8"]),
    ("charlm_symbolic", "examples/charlm.td", []),
    ("lesson_matmul", "tests/report/lesson_matmul.td", []),
]


def report_json(r, rel, args):
    code, out, err = r.run(["report", "--format=json"] + args + [rel])
    if code != 0:
        r.fail(f"report {rel}", f"exit {code}\n{err}")
        return None
    return json.loads(out)


def flops(ops, pass_, op=None):
    return sum(o["flops"] for o in ops if o["pass"] == pass_ and (op is None or o["op"] == op))


def run(r):
    for name, rel, args in GOLDENS:
        code, out, err = r.run(["report"] + args + [rel])
        if code != 0:
            r.fail(f"report {rel}", f"exit {code}\n{err}")
            continue
        r.golden(f"report {name}", os.path.join(HERE, name + ".txt"), out)
    for fmt in ("json", "csv"):
        code, out, err = r.run(["report", f"--format={fmt}", "--dims", "batch=1024", "examples/cruncher.td"])
        r.golden(f"report cruncher --format={fmt}", os.path.join(HERE, f"cruncher.{fmt}"), out)
    b, d, k = 16384, 32768, 8192
    rep = report_json(r, "tests/report/lesson_matmul.td", [])
    if rep:
        ops = rep["operations"]
        fwd, bwd = flops(ops, "forward", "contract"), flops(ops, "backward", "contract")
        if fwd != 2 * b * d * k or bwd != 4 * b * d * k:
            r.fail("report: the lesson's matmul", f"forward {fwd} (want 2BDK = {2 * b * d * k}), backward {bwd} (want {4 * b * d * k})")
        else:
            r.ok("report: the lesson's matmul is 2BDK forward, 4BDK backward")
    batch = 1024
    rep = report_json(r, "examples/cruncher.td", ["--dims", f"batch={batch}"])
    if rep:
        ops = [o for o in rep["operations"] if o["function"] == "step"]
        contractions = flops(ops, "forward", "contract") + flops(ops, "backward", "contract")
        params = rep["params"]
        first_input_gradient = 2 * batch * 64 * 64  # the step does not differentiate its input x
        if contractions + first_input_gradient != 6 * batch * params:
            r.fail("report: the Cruncher's 6 x B x params", f"{contractions} + {first_input_gradient} != 6 x {batch} x {params}")
        else:
            r.ok("report: the Cruncher's contractions are 6 x B x params (with the input's gradient)")
    fused = report_json(r, "examples/charlm.td", ["--dims", "batch=8"])
    unfused = report_json(r, "examples/charlm.td", ["--dims", "batch=8", "--no-fuse"])
    if fused and unfused:
        total = lambda rep: sum(o["read_bytes"] + o["written_bytes"] for o in rep["operations"])
        if not total(fused) < total(unfused):
            r.fail("report: fusion moves fewer bytes", f"{total(fused)} >= {total(unfused)}")
        else:
            r.ok("report: fusion moves fewer bytes")
    # the bytes tdc report promises are the bytes the program allocates (./model info)
    import re
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for rel, dims in (("examples/cruncher.td", "batch=1024"), ("examples/charlm.td", "batch=8"),
                          ("examples/attention.td", "batch=2,seq=16"), ("examples/linreg.td", "")):
            rep = report_json(r, rel, ["--dims", dims] if dims else [])
            exe = os.path.join(tmp, os.path.basename(rel)[:-3])
            code, out, err = r.run([rel, "-o", exe], timeout=180)
            if not rep or code != 0:
                r.fail(f"report memory {rel}", err)
                continue
            info = subprocess.run([exe, "info"] + (["--dims", dims] if dims else []), capture_output=True, text=True).stdout
            got = {k: float(v) for k, v in re.findall(r"^  (params|workspace|grads|optimizer) +(\d+) B", info, re.M)}
            want = {k: v for k, v in rep["memory"].items() if v or k in got}
            want = {("grads" if k == "grads" else k): v for k, v in want.items()}
            if any(got.get(k, 0.0) != v for k, v in want.items()):
                r.fail(f"report memory {rel}", f"tdc report {rep['memory']}, ./model info {got}")
            else:
                r.ok(f"report memory {rel}: the bytes allocated are the bytes planned")
    errors = [
        (["report", "--dims", "batch=0", "examples/cruncher.td"], 1, "bad --dims item 'batch=0'"),
        (["report", "--dims", "seq=4", "examples/cruncher.td"], 1, "--dims names 'seq'"),
        (["report", "--dims", "hidden=3", "examples/cruncher.td"], 1, "'hidden', a static dim"),
        (["report", "--format=xml", "examples/cruncher.td"], 2, "--format=table, --format=json or --format=csv"),
        (["report", "--dtype=i32", "examples/cruncher.td"], 2, "--dtype takes a float dtype"),
        (["report", "--dims"], 2, "--dims needs NAME=N"),
        (["report"], 2, "no input file"),
        (["estimate", "examples/attention.td", "--dims", "batch=2,seq=8", "--tokens", "1e9", "--device", "h100", "--mfu", "0.4"], 1,
         "has no train block to estimate"),
        (["estimate", "examples/charlm.td", "--tokens", "1e9", "--device", "h100", "--mfu", "0.4"], 1,
         "a dim it needs is not given"),
        (["estimate", "examples/charlm.td", "--dims", "batch=8", "--tokens", "1e9", "--device", "h100", "--mfu", "7"], 2, "--mfu"),
    ]
    # bytes of the same params in fp32, bf16 and fp8 (--dtype): 4, 2 and 1 a parameter
    for dtype, size in (("f32", 4), ("bf16", 2), ("f8e4m3", 1)):
        rep = report_json(r, "examples/cruncher.td", ["--dims", "batch=1024", f"--dtype={dtype}"])
        params = rep["params"] if rep else 0
        # w (2 x 64 x 64) and final (64 x 1), each at a 64-byte boundary
        want = -(-2 * 64 * 64 * size // 64) * 64 + -(-64 * size // 64) * 64
        if not rep or rep["memory"]["params"] != want or params != 8256:
            r.fail(f"report --dtype={dtype}", f"{rep and rep['memory']} (want params {want})")
        else:
            r.ok(f"report --dtype={dtype}: {size} bytes a parameter")
    # tdc estimate FILE.td: the program's own FLOPs per step beside 6ND
    code, out, err = r.run(["estimate", "examples/charlm.td", "--dims", "batch=16", "--tokens", "1e9", "--gpus", "8",
                            "--device", "h100", "--mfu", "0.4"])
    rep = report_json(r, "examples/charlm.td", ["--dims", "batch=16"])
    step = sum(o["flops"] for o in rep["operations"] if o["function"] == "step") if rep else 0
    if code != 0 or "training time of examples/charlm.td" not in out or f"{step:.2e}".replace("e+0", "e") not in out:
        r.fail("estimate charlm.td", f"exit {code}, step {step:.3e}\n{out}{err}")
    else:
        r.ok("estimate charlm.td uses the report's FLOPs per step")
    for args, want, text in errors:
        code, out, err = r.run(args)
        if code != want or text not in err:
            r.fail(f"report error: {' '.join(args)}", f"exit {code} (want {want}): {err}")
        else:
            r.ok(f"report error: {' '.join(args)}")
