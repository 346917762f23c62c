"""What the test suites that build C against the runtime need to know about
a build: whether it has the sanitizers, the flags that link against it, and
where its td.h and libtdrt.a are (as tdc itself finds them); and how the
verdicts of a C test driver (`PASS name: ...`, `FAIL name: why`, then
`N passed, N failed`) are counted."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sanitized(build):
    """Whether the build in directory `build` was configured with TDC_SANITIZE."""
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as fh:
            return "TDC_SANITIZE:BOOL=ON" in fh.read()
    except OSError:
        return False


def sanitizer_flags(build):
    """A sanitized build's libtdrt.a needs the sanitizers' runtimes at link time."""
    return ["-fsanitize=address,undefined"] if sanitized(build) else []


def runtime_of(tdc):
    """td.h's directory and libtdrt.a for this tdc, found as tdc finds them
    (compiler/backend.c): installed beside it (../include/tdc, ../lib), or
    its build tree's (the source tree's runtime/, named in CMakeCache.txt)."""
    bin_dir = os.path.dirname(tdc)
    include, library = os.path.join(bin_dir, "../include/tdc"), os.path.join(bin_dir, "../lib/libtdrt.a")
    if os.path.exists(os.path.join(include, "td.h")) and os.path.exists(library):
        return include, library
    source = ROOT
    try:
        with open(os.path.join(bin_dir, "CMakeCache.txt")) as fh:
            for line in fh:
                if line.startswith("CMAKE_HOME_DIRECTORY:"):
                    source = line.split("=", 1)[1].strip()
    except OSError:
        pass
    return os.path.join(source, "runtime"), os.path.join(bin_dir, "libtdrt.a")


def driver_verdicts(out):
    """The (verdict, rest) of each PASS/FAIL line of a driver's output, or
    None when the driver did not finish: its tally is missing or counts
    other than the lines it printed."""
    tally = re.search(r"^(\d+) passed, (\d+) failed$", out, re.M)
    lines = [l for l in out.splitlines() if l.startswith(("PASS ", "FAIL "))]
    if not tally or int(tally.group(1)) + int(tally.group(2)) != len(lines):
        return None
    return [tuple(l.split(" ", 1)) for l in lines]


def judge(r, name, verdict, known_failures, key, why):
    """One verdict into the runner r: a pass, a failure (why() gives the
    text), or a known failure (skipped; a pass of one is itself a failure,
    so the list cannot go stale)."""
    if key in known_failures:
        if verdict == "PASS":
            r.fail(name, f"passes, but KNOWN_FAILURES says: {known_failures[key]} (remove it from the list)")
        else:
            r.skipped += 1
    elif verdict == "PASS":
        r.ok(name)
    else:
        r.fail(name, why())
