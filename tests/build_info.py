"""What the test suites that build C against the runtime need to know about
a build: whether it has the sanitizers, the flags that link against it, and
where its td.h and libtdrt.a are (as tdc itself finds them)."""
import os

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
