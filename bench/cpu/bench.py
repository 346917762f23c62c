"""numpy's side of bench/cpu: the same computations, timed the same way."""
import json
import sys
import time

import numpy as np


def median_time(fn, repeats):
    fn()
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2], times[0]


def main():
    name, repeats, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = np.random.default_rng(0)
    if name == "matmul":
        x = rng.standard_normal((1024, 256), dtype=np.float32)
        w = rng.standard_normal((256, 64), dtype=np.float32)
        fn = lambda: x @ w
    else:
        x = rng.standard_normal((1024, 1024), dtype=np.float32)
        ws = rng.standard_normal((4, 1024, 1024), dtype=np.float32) / 32
        final = rng.standard_normal((1024, 1), dtype=np.float32) / 32

        def fn():
            h = x
            for l in range(4):
                h = h @ ws[l]
            return (h @ final)[:, 0]
    med, best = median_time(fn, repeats)
    with open(out, "w") as f:
        json.dump({"median_s": med, "min_s": best, "repeats": repeats}, f)


main()
