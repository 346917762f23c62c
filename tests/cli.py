"""Command-line behaviour of tdc: flags, exit statuses, files and imports.
Loaded by tests/run_tests.py (suite `cli`); each case is one pass or fail."""
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GOOD = 'dim n = 4\nfn f(x: f32["n"]) -> f32["n"] {\n  return x * 2\n}\n'
BAD = 'dim n = 4\nfn f(x: f32["n"]) -> f32["n"] {\n  return y\n}\n'


def case(r, name, args, code, out=None, err=None, err_has=None, cwd=None):
    got_code, got_out, got_err = r.run(args, cwd=cwd or ROOT)
    problems = []
    if got_code != code:
        problems.append(f"exit status {got_code}, expected {code}")
    if out is not None and got_out != out:
        problems.append(f"stdout {got_out!r}, expected {out!r}")
    if err is not None and got_err != err:
        problems.append(f"stderr {got_err!r}, expected {err!r}")
    for piece in err_has or []:
        if piece not in got_err:
            problems.append(f"stderr lacks {piece!r}: {got_err!r}")
    if problems:
        r.fail("cli: " + name, "; ".join(problems))
    else:
        r.ok("cli: " + name)


def write(d, name, text):
    path = os.path.join(d, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def run(r):
    case(r, "no arguments", [], 2, err_has=["usage: tdc [options] FILE.td", "tdc check [options] FILE..."])
    case(r, "--help", ["--help"], 0, err="")
    case(r, "--version", ["--version"], 0, err="")
    case(r, "two programs to compile", ["build", "x.td"], 2, err_has=["one program at a time; 'x.td' is a second"])
    case(r, "bad --emit", ["--emit=asm", "x.td"], 2, err_has=["use --emit=ir, --emit=plan, --emit=c or --emit=cuda"])
    case(r, "-o without a name", ["x.td", "-o"], 2, err_has=["-o needs a file name"])
    case(r, "compile -I without directory", ["x.td", "-I"], 2, err_has=["-I needs a directory"])
    case(r, "unknown -O level", ["-O7", "x.td"], 2, err_has=["unknown option '-O7'"])
    case(r, "compile without a file", ["-O2"], 2, err_has=["no input file"])
    case(r, "compile a missing file", ["/nonexistent/m.td"], 1, err_has=["cannot read '/nonexistent/m.td'"])
    case(r, "check without files", ["check"], 2, err_has=["no input files"])
    case(r, "unknown option", ["check", "--frobnicate", "x.td"], 2, err_has=["unknown option '--frobnicate'"])
    case(r, "bad --diagnostics", ["check", "--diagnostics=xml", "x.td"], 2, err_has=["--diagnostics=text or --diagnostics=json"])
    case(r, "bad --max-errors", ["check", "--max-errors=lots", "x.td"], 2, err_has=["--max-errors takes a number"])
    case(r, "negative --max-errors", ["check", "--max-errors=-1", "x.td"], 2, err_has=["--max-errors takes a number"])
    case(r, "-I without directory", ["check", "x.td", "-I"], 2, err_has=["-I needs a directory"])
    case(r, "missing file", ["check", "no/such/file.td"], 1,
         err="tdc: error: cannot read 'no/such/file.td': No such file or directory\n")
    case(r, "directory as file", ["check", "tests"], 1, err="tdc: error: cannot read 'tests': not a regular file\n")
    with tempfile.TemporaryDirectory() as d:
        good = write(d, "good.td", GOOD)
        bad = write(d, "bad.td", BAD)
        case(r, "good program is silent", ["check", good], 0, out="", err="")
        # the C compiler failing, in one compile and in parts compiled at once: one message, no executable
        for parts in ("1", "3"):
            exe = os.path.join(d, "never" + parts)
            p = subprocess.run([r.tdc, good, "-o", exe], capture_output=True, text=True,
                               env=dict(os.environ, CC="false", TDC_C_PARTS=parts))
            if p.returncode == 1 and p.stderr == "tdc: error: the C compiler (false) failed\n" and not os.path.exists(exe):
                r.ok(f"cli: the C compiler failing, {parts} part(s)")
            else:
                r.fail(f"cli: the C compiler failing, {parts} part(s)", f"exit {p.returncode}: {p.stderr!r}")
        # $TDC_C_PARTS: 1 to 16, else an error that names it, and no executable or C
        for value in ("0", "17", "x", "4k"):
            for emit in ([], ["--emit=c"]):
                out = os.path.join(d, "parts_bad" + ("_c" if emit else ""))
                p = subprocess.run([r.tdc] + emit + [good, "-o", out], capture_output=True, text=True,
                                   env=dict(os.environ, TDC_C_PARTS=value))
                want = f"tdc: error: TDC_C_PARTS is '{value}'; it must be a count of parts from 1 to 16\n"
                if p.returncode == 1 and p.stderr == want and (not os.path.exists(out) or not open(out).read()):
                    r.ok(f"cli: TDC_C_PARTS={value!r} {' '.join(emit)}")
                else:
                    r.fail(f"cli: TDC_C_PARTS={value!r} {' '.join(emit)}", f"exit {p.returncode}: {p.stderr!r}")
        case(r, "each file is its own program", ["check", good, bad, good], 1, out="",
             err_has=[f"{bad}:3:10: error: unknown name 'y'"])
        case(r, "--types on a good program", ["check", "--types", good], 0,
             out=f"{good}:1: n: dim = 4\n{good}:2: x: f32[\"4\"]\n", err="")
        case(r, "--max-errors=1", ["check", "--max-errors=1", write(d, "two.td", BAD + BAD.replace("f(", "g(").replace("dim n = 4", ""))], 1,
             err_has=["1 more not shown"])
        # imports: the importing file's directory, then -I, then the standard library
        write(d, "lib/helpers.td", 'fn twice(x: f32["... n"]) -> f32["... n"] {\n  return x + x\n}\n')
        main = write(d, "main.td", 'import "helpers.td"\nimport "nn.td"\ndim n = 8\n'
                     'fn f(x: f32["n"]) -> f32["n"] {\n  return softmax(twice(x))\n}\n')
        case(r, "import not found", ["check", main], 1,
             err_has=['main.td:1:8: error: cannot find import "helpers.td"', "note: searched"])
        case(r, "import through -I", ["check", "-I", os.path.join(d, "lib"), main], 0, out="", err="")
        case(r, "import through -IDIR", ["check", "-I" + os.path.join(d, "lib"), main], 0, out="", err="")
        # a file imported twice (directly and through another file) is read once
        write(d, "lib/again.td", 'import "helpers.td"\n')
        diamond = write(d, "diamond.td", 'import "helpers.td"\nimport "again.td"\n')
        case(r, "diamond import reads each file once", ["check", "-I", os.path.join(d, "lib"), diamond], 0, out="", err="")
        # two files declaring the same name
        write(d, "lib/other.td", 'dim n = 3\n')
        clash = write(d, "clash.td", 'import "other.td"\ndim n = 4\n')
        case(r, "declaration clash across files", ["check", "-I", os.path.join(d, "lib"), clash], 1,
             err_has=["error: 'n' is already declared", "note: previous declaration of 'n' as a dim"])
        # an import cycle is harmless: each file is read once
        write(d, "cyc/a.td", 'import "b.td"\ndim a = 2\n')
        write(d, "cyc/b.td", 'import "a.td"\ndim b = a * 2\n')
        case(r, "import cycle", ["check", os.path.join(d, "cyc/a.td")], 0, out="", err="")
        # an import of something that is not a regular file
        os.makedirs(os.path.join(d, "dir.td"), exist_ok=True)
        case(r, "import of a directory", ["check", write(d, "imp_dir.td", 'import "dir.td"\n')], 1,
             err_has=['cannot find import "dir.td"'])
        # an installed tdc finds the standard library beside itself
        build = os.path.dirname(r.tdc)
        if os.path.exists(os.path.join(build, "CMakeCache.txt")):
            import shutil
            prefix = os.path.join(d, "prefix")
            p = subprocess.run(["cmake", "--install", build, "--prefix", prefix], capture_output=True, text=True)
            installed = os.path.join(prefix, "bin", "tdc")
            files = ["bin/tdc", "share/tdc/stdlib/nn.td", "lib/libtdrt.a", "include/tdc/td.h"]
            missing = [f for f in files if not os.path.exists(os.path.join(prefix, f))]
            if p.returncode != 0 or missing:
                r.fail("cli: cmake --install", f"exit {p.returncode}, missing {missing}\n{p.stderr}")
            else:
                r.ok("cli: cmake --install")
                user = write(d, "elsewhere/uses_nn.td", 'import "nn.td"\ndim n = 4\n'
                             'fn f(x: f32["n"]) -> f32["n"] {\n  return softmax(x)\n}\n')
                q = subprocess.run([installed, "check", user], capture_output=True, text=True, cwd=os.path.dirname(user))
                found = os.path.join(prefix, "share/tdc/stdlib/nn.td")
                q2 = subprocess.run([installed, "check", "--types", user], capture_output=True, text=True, cwd=d)
                if q.returncode == 0 and q.stderr == "" and found.replace("/share/tdc/stdlib", "/bin/../share/tdc/stdlib") in q2.stdout:
                    r.ok("cli: installed tdc finds its standard library")
                else:
                    r.fail("cli: installed tdc finds its standard library",
                           f"exit {q.returncode}: {q.stderr}\n{q2.stdout[:500]}")
                # and compiles against the runtime installed beside it
                exe = os.path.join(d, "elsewhere", "uses_nn")
                q = subprocess.run([installed, user, "-o", exe], capture_output=True, text=True, cwd=d)
                import numpy as np
                np.save(os.path.join(d, "x4.npy"), np.zeros(4, dtype=np.float32))
                q2 = subprocess.run([exe, "run", "f", "--in", "x=" + os.path.join(d, "x4.npy"), "--out", os.path.join(d, "y4.npy")],
                                    capture_output=True, text=True) if q.returncode == 0 else q
                if q.returncode == 0 and q2.returncode == 0 and np.allclose(np.load(os.path.join(d, "y4.npy")), 0.25):
                    r.ok("cli: installed tdc compiles and links a program")
                else:
                    r.fail("cli: installed tdc compiles and links a program", f"exit {q.returncode}/{q2.returncode}: {q.stderr}{q2.stderr}")
                shutil.rmtree(prefix, ignore_errors=True)
        # JSON diagnostics: one object per line
        code, out, err = r.run(["check", "--diagnostics=json", bad])
        import json
        try:
            objs = [json.loads(line) for line in err.splitlines()]
            ok = code == 1 and objs and objs[0]["severity"] == "error" and objs[0]["line"] == 3 and objs[0]["column"] == 10
        except ValueError:
            ok = False
        if ok:
            r.ok("cli: json diagnostics parse")
        else:
            r.fail("cli: json diagnostics parse", f"exit {code}, stderr {err!r}")
