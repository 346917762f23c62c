# bench/gpu/build_driver.sh - sourced by run.sh and profile.sh: check_build
# sets $TDC and $LIB from $BUILD (or stops, naming the script); build_driver
# writes the benchmarks' programs' C (tdc --lib) into GEN_DIR and links
# bench/gpu/driver.c with them and the runtime.
check_build() { # SCRIPT_NAME
    TDC=$BUILD/tdc
    LIB=$BUILD/libtdrt.a
    for f in "$TDC" "$LIB"; do
        [ -e "$f" ] || { echo "$1: no $f: build tdc first (cmake --build $BUILD)" >&2; exit 2; }
    done
}
build_driver() { # GEN_DIR CRUNCHER_BIG_TD CRUNCHER_BIG_BF16_TD OUT_EXE
    local gen=$1
    mkdir -p "$gen"
    for p in matmul softmax; do
        "$TDC" --lib "bench/gpu/$p.td" -o "$gen/$p" || return 1
    done
    "$TDC" --lib "$2" -o "$gen/cruncher_big" || return 1
    "$TDC" --lib "$3" -o "$gen/cruncher_big_bf16" || return 1
    "$TDC" --lib examples/cruncher.td -o "$gen/cruncher" || return 1
    cc -std=c11 -O2 -Wall -Wextra -fopenmp -I runtime -I "$gen" bench/gpu/driver.c \
        "$gen/matmul.c" "$gen/softmax.c" "$gen/cruncher_big.c" "$gen/cruncher_big_bf16.c" "$gen/cruncher.c" \
        "$LIB" -lopenblas -lm -ldl -o "$4"
}
