# tests/gpu/carried_libs.sh - sourced by tests/gpu/run.sh and
# bench/gpu/run.sh from the repository's root. The GPU machine this project
# borrows cannot build tdc (no re2c, lemon or OpenBLAS there): a build made
# here travels with the libraries its link line names, in .gpu/
# (libopenblasp-*.so, libgfortran.so.5, libquadmath.so.0), and this puts
# them where that link line and the loader look, once.
CARRIED_LIBDIR=/usr/lib/x86_64-linux-gnu
if [ -d .gpu ] && [ ! -e "$CARRIED_LIBDIR/libopenblas.so" ]; then
    mkdir -p "$CARRIED_LIBDIR"
    cp .gpu/libopenblasp-*.so "$CARRIED_LIBDIR/libopenblas.so"
    cp .gpu/libopenblasp-*.so "$CARRIED_LIBDIR/libopenblas.so.0"
    for f in libgfortran.so.5 libquadmath.so.0; do
        [ -e "$CARRIED_LIBDIR/$f" ] || cp ".gpu/$f" "$CARRIED_LIBDIR/$f"
    done
    ldconfig 2>/dev/null || true
fi
