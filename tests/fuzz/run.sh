#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] - fuzzes the front end, then checks that big
# inputs are fast.
#
#   1. builds the libFuzzer target in build-fuzz/ with clang (-DTDC_FUZZ=ON),
#      and build/tdc if it is missing
#   2. replays every input saved in tests/fuzz/crashers/ (each must now run
#      clean: a bug found earlier stays a failure until it is fixed)
#   3. fuzzes for SECONDS (default 60) from a seed corpus made of every .td
#      under tests/, examples/ and stdlib/ and every ```td block in docs/*.md
#      and README.md; new inputs accumulate in tests/fuzz/corpus/ (ignored
#      by git). A crash, leak, sanitizer report or a 5 s hang is a failure;
#      the input is left in build-fuzz/artifacts/ - copy it into
#      tests/fuzz/crashers/ with a descriptive name.
#   4. generates ~1 MB inputs (a valid program repeated, random bytes, deeply
#      nested parentheses, and a few other extremes) and requires build/tdc
#      to check each in under 1 s, and the sanitized fuzzer to run each clean.
#
# Prints PASS/FAIL per check, then `N passed, N failed`; exits 1 on any failure.
set -uo pipefail

FUZZ_SECONDS=${1:-60}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1

FUZZ_BUILD=build-fuzz
FUZZER=$FUZZ_BUILD/fuzz_frontend
ARTIFACTS=$FUZZ_BUILD/artifacts
CORPUS=tests/fuzz/corpus
TDC=build/tdc
SIZE_LIMIT_S=1.0

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tdc-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

now_ns() { date +%s%N; }
seconds_since() { # seconds_since START_NS -> "0.123"
    local end
    end=$(now_ns)
    awk -v a="$1" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'
}

# ---- 1. build ----------------------------------------------------------
if ! command -v clang >/dev/null 2>&1; then
    fail "build fuzzer: clang not found (run tools/deps.sh)"
    finish
fi
if CC=clang cmake -S . -B "$FUZZ_BUILD" -DTDC_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$WORK/build.log" 2>&1 &&
    cmake --build "$FUZZ_BUILD" -j"$(nproc)" --target fuzz_frontend >>"$WORK/build.log" 2>&1; then
    pass "build fuzzer ($FUZZER)"
else
    tail -n 30 "$WORK/build.log"
    fail "build fuzzer"
    finish
fi
if [ ! -x "$TDC" ]; then
    if cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$WORK/build-tdc.log" 2>&1 &&
        cmake --build build -j"$(nproc)" --target tdc >>"$WORK/build-tdc.log" 2>&1; then
        pass "build $TDC"
    else
        tail -n 30 "$WORK/build-tdc.log"
        fail "build $TDC"
    fi
fi

# Options for every fuzzer run. The sanitizers abort on the first report;
# LeakSanitizer is on (libFuzzer checks for leaks after each input).
FUZZ_OPTS=(-timeout=5 -rss_limit_mb=2048 -max_len=65536)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# libFuzzer handles the abort itself; abort_on_error=1 would only add a core.
export ASAN_OPTIONS="${ASAN_OPTIONS//abort_on_error=1/abort_on_error=0}"

# run_one NAME FILE: runs the sanitized front end once on FILE, whole (no
# -max_len: libFuzzer would cut a replayed file to it).
run_one() {
    local name=$1 file=$2 log="$WORK/one.log" start secs
    start=$(now_ns)
    timeout 60 "$FUZZER" -timeout="${3:-5}" -rss_limit_mb=2048 "$file" >"$log" 2>&1
    local rc=$?
    secs=$(seconds_since "$start")
    if [ $rc -eq 0 ]; then
        pass "$name: sanitized run clean (${secs} s)"
    else
        grep -E "ERROR:|runtime error|SUMMARY|ALARM|timeout" "$log" | head -n 5 | sed 's/^/    /'
        fail "$name: sanitized run failed (exit $rc, ${secs} s)"
    fi
}

# ---- 2. earlier crashers -------------------------------------------------
shopt -s nullglob
crashers=(tests/fuzz/crashers/*)
for f in "${crashers[@]}"; do
    case $f in *.md) continue ;; esac
    [ -f "$f" ] && run_one "crasher $(basename "$f")" "$f"
done
[ ${#crashers[@]} -eq 0 ] && echo "(no saved crashers in tests/fuzz/crashers/)"

# ---- 3. fuzz -------------------------------------------------------------
SEEDS=$WORK/seeds
mkdir -p "$SEEDS" "$CORPUS" "$ARTIFACTS"
# Inputs already saved as crashers are left out of the seeds: the replay
# above reports them, and a seed that fails would stop the fuzzer before it
# could look for anything new.
known=" "
for f in "${crashers[@]}"; do
    known+="$(sha1sum <"$f" | cut -c1-40) "
done
n=0
excluded=0
while IFS= read -r -d '' f; do
    if [[ $known == *" $(sha1sum <"$f" | cut -c1-40) "* ]]; then
        echo "seed corpus: leaving out $f (a saved crasher)"
        excluded=$((excluded + 1))
        continue
    fi
    n=$((n + 1))
    cp "$f" "$SEEDS/$(printf '%04d' $n)-$(basename "$f")"
done < <(find tests examples stdlib -name '*.td' -type f -not -path 'tests/fuzz/corpus/*' -print0 2>/dev/null | sort -z)
python3 - "$SEEDS" <<'EOF'
import glob, os, re, sys
out = sys.argv[1]
n = 0
for md in sorted(glob.glob("docs/**/*.md", recursive=True)) + ["README.md"]:
    if not os.path.exists(md):
        continue
    text = open(md, encoding="utf-8", errors="replace").read()
    for m in re.finditer(r"^```td\n(.*?)^```", text, re.S | re.M):
        n += 1
        with open(os.path.join(out, f"doc-{n:04d}.td"), "w") as f:
            f.write(m.group(1))
print(f"seed corpus: {n} ```td blocks from docs")
EOF
nseeds=$(find "$SEEDS" -type f | wc -l)
echo "seed corpus: $nseeds files ($n .td files) in $SEEDS; corpus dir $CORPUS"

DICT=()
[ -f tests/fuzz/td.dict ] && DICT=(-dict=tests/fuzz/td.dict)
FUZZ_LOG=$FUZZ_BUILD/fuzz.log
echo "fuzzing for ${FUZZ_SECONDS}s (log: $FUZZ_LOG)"
timeout $((FUZZ_SECONDS + 300)) "$FUZZER" "${FUZZ_OPTS[@]}" "${DICT[@]}" -max_total_time="$FUZZ_SECONDS" \
    -print_final_stats=1 -artifact_prefix="$ARTIFACTS/" "$CORPUS" "$SEEDS" >"$FUZZ_LOG" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$FUZZ_LOG" | tail -n 1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$FUZZ_LOG" | tail -n 1)
if [ -z "$rate" ]; then # no final stats (a crash): the last status line
    last=$(grep -E '^#[0-9]+' "$FUZZ_LOG" | tail -n 1)
    execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
    rate=$(sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p' <<<"$last")
fi
cov=$(grep -E '^#[0-9]+' "$FUZZ_LOG" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
stats="${execs:-?} execs, ${rate:-?} exec/s, cov ${cov:-?}, corpus $(find "$CORPUS" -type f | wc -l) files"
if [ $rc -eq 0 ]; then
    pass "fuzz ${FUZZ_SECONDS}s: no crash, leak or hang ($stats)"
else
    grep -E "ERROR:|runtime error|SUMMARY|ALARM|Test unit written|==[0-9]+== " "$FUZZ_LOG" | head -n 12 | sed 's/^/    /'
    fail "fuzz ${FUZZ_SECONDS}s: exit $rc ($stats); reproduce with: $FUZZER <artifact above>; save it in tests/fuzz/crashers/"
fi

# ---- 4. size: ~1 MB inputs in under 1 s ---------------------------------
BIG=$WORK/big
mkdir -p "$BIG"
python3 - "$BIG" <<'EOF'
import os, random, sys
out = sys.argv[1]
MB = 1 << 20

def write(name, text):
    data = text.encode() if isinstance(text, str) else text
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)

# A valid program, one block of declarations repeated with fresh names.
head = '''dim batch
dim model = 64
dim hidden = 4 * model
const layers = 2
'''
block = '''
param w{i}: f32["model hidden"] = normal(std = 0.02)
param v{i}: f32["hidden model"] = xavier_uniform()
param g{i}: f32["layers model"] = normal(std = 0.02)

fn block{i}(x: f32["batch model"]) -> f32["batch model"] {{
  h = relu(einsum(x, w{i}, "b d, d h -> b h"))
  y = h @ v{i}
  s = reduce(y, "b d -> b", "mean")
  c = y - repeat(s, "b -> b d", d = model)
  for l in 0..layers {{
    c = c * rearrange(g{i}[l], "d -> 1 d")
  }}
  return x + c
}}

train step{i}(x: f32["batch model"], t: f32["batch model"]) {{
  loss = reduce((block{i}(x) - t) ** 2, "b d ->", "mean")
  minimize loss with sgd(lr = 0.01)
}}
'''
parts, size, i = [head], len(head), 0
while size < MB:
    b = block.format(i=i)
    parts.append(b)
    size += len(b)
    i += 1
write("program.td", "".join(parts))

# The same valid-looking block verbatim, over and over: every copy after the
# first redeclares everything.
chunk = block.format(i=0)
write("program_verbatim.td", head + chunk * (MB // len(chunk) + 1))

rng = random.Random(20240601)
write("random.td", rng.randbytes(MB))

n = MB // 2 - 16
write("parens.td", "const c = " + "(" * n + "1" + ")" * n + "\n")

# Other extremes: unclosed nesting, one enormous line, many short errors,
# a huge string pattern, nested brackets and braces.
write("parens_unclosed.td", "const c = " + "(" * (MB - 16) + "\n")
write("brackets.td", "fn f(x: f32[\"n\"]) -> f32 {\n  return x" + "[0" * (MB // 3) + "]" * (MB // 3) + "\n}\n")
write("braces.td", "fn f() " + "{" * (MB // 2) + "}" * (MB // 2) + "\n")
# Operator chains: left-nested (the checker recurses), right-nested and
# prefix (the parser's stack).
write("chain_left.td", "const c = 1" + " + 1" * (MB // 4 - 4) + "\n")
write("chain_pow.td", "const c = 2" + " ** 2" * (MB // 5 - 4) + "\n")
write("chain_neg.td", "const c = " + "-" * (MB - 16) + "1\n")
write("long_line.td", "const " + "a" * (MB - 16) + " = 1\n")
write("errors.td", "x = $\n" * (MB // 6))
write("string.td", 'fn f(x: f32["n"]) -> f32["n"] {\n  return rearrange(x, "' + "n " * (MB // 2 - 64) + '-> n")\n}\n')
# Patterns and shapes with tens of thousands of distinct names: every lookup
# by name must be hashed, every caret inside the string constant time.
names = " ".join("a%d" % i for i in range(60000))
write("pattern_names.td", 'fn f(x: f32["3"]) -> f32["3"] {\n  y = rearrange(x, "' + names + " -> " + names + '")\n  return x\n}\n')
ones = " ".join(["1"] * 30000)
few = " ".join("a%d" % i for i in range(30000))
params = ", ".join('p%d: f32["v%d"]' % (i, i) for i in range(30000))
write("size_variables.td", "fn f(" + params + ') -> f32["v0"] {\n  return p0\n}\nfn g(x: f32["3"]) -> f32["3"] {\n  return f(' + ", ".join(["x"] * 30000) + ")\n}\n")
write("rank_30000.td", 'fn f(x: f32["' + ones + '"]) {\n  y = einsum(x, x, "' + few + ", " + few + " -> " + few + '")\n  return y\n}\n')
EOF

for f in "$BIG"/*.td; do
    name="1MB $(basename "$f" .td)"
    bytes=$(wc -c <"$f")
    if [ -x "$TDC" ]; then
        start=$(now_ns)
        timeout 30 "$TDC" check "$f" >/dev/null 2>"$WORK/tdc.err"
        rc=$?
        secs=$(seconds_since "$start")
        if [ $rc -gt 1 ]; then
            head -n 5 "$WORK/tdc.err" | sed 's/^/    /'
            fail "$name ($bytes bytes): build/tdc exit $rc after ${secs} s (crash or timeout)"
        elif awk -v s="$secs" -v l="$SIZE_LIMIT_S" 'BEGIN { exit !(s < l) }'; then
            pass "$name ($bytes bytes): build/tdc ${secs} s < ${SIZE_LIMIT_S} s (exit $rc)"
        else
            fail "$name ($bytes bytes): build/tdc ${secs} s, limit ${SIZE_LIMIT_S} s (exit $rc)"
        fi
    else
        fail "$name: $TDC is missing"
    fi
    run_one "$name" "$f" 10
done

finish
