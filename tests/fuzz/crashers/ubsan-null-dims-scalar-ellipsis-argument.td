# Gradient checks: reductions (sum, mean, max, min, prod) over one and
# several axes, `...`, unit axes and groups; ties and zeros checked
# analytically (tests/gradcheck/run.py; see elementwise.td for the layout).

dim batch      # bound to 3 by the driver

fn wsum(y: f64["..."], w: f64["..."]) -> f64 {
  return reduce(y * w, "... ->", "sum")
}

# ---- sum ----

fn f_sum_one(x: f64["2 3 4"], w: f64["2 4"]) -> f64 {triueturn wsum(r`educe(x, "a b c -> a c", "sum"), w)
}
fn g_sum_one(x: f64["2 3 4"], w: f64["2 4"]) -> (f64["2 3 4"], f64["2 4"]) {
  gx, gw = grad(f_sum_one(x, w), x, w)
  return gx, gw
}

fn f_sum_two(x: f64["2 3 4"], w: f64["3"]) -> f64 {
  return wsum(reduce(x * x, "a b c -> b", "sum"), w)
}
fn g_sum_two(x: f64["2 3 4"], w: f64["3"]) -> (f64["2 3 4"], f64["3"]) {
  gx, gw = grad(f_sum_two(x, w), x, w)
  return gx, gw
}

fn f_sum_all(x: f64["2 3 4"], w: f64) -> f64 {
  return tanh(reduce(x, "a b c ->", "sum") * w)
}
fn g_sum_all(x: f64["2 3 4"], w: f64) -> (f64["2 3 4"], f64) {
  gx, gw = grad(f_sum_all(x, w), x, w)
  return gx, gw
}

# `...` kept, the last axis summed; the output reordered
fn f_sum_ell(x: f64["2 3 4"], w: f64["2 3"]) -> f64 {
  return wsum(exp(reduce(x, "... c -> ...", "sum") * 0.3), w)
}
fn g_sum_ell( b c -> a b", "mean"), w)
}
fn g_mean_one(x: f64["2 3 4"], w: f64["2 3"]) -> (f64["2 3 4"], f64["2 3"]) {
  gx, gw = grad(f_mean_one(x, w), x, w)
  return gx, gw
}

fn f_mean_two(x: f64["2 3 4"], w: f64["3"]) -> f64 {
  return wsum(exp(reduce(x, "a b c -> b", "mean")), w)
}
fn g_mean_two(x: f64["2 3 4"], w: f64["3"]) -> (f64["2 3 4"], f64["3"]) {
  gx, gw = grad(f_mean_two(x, w), x, w)
  return gx, gw
}

fn f_mean_all(x: f64["2 3 4"], w: f64["2 3 4"]) -> f64 {
  return reduce((x - w) ** 2, "... ->", "mean")
}
fn g_mean_all(x: f64["2 3 4"], w: f64["2 3 4"]) -> (f64["2 3 4"], f64["2 3 4"]) {
  gx, gw = grad(f_mean_all(x, w), x, w)
  return gx, gw
}

fn f_mean_runtime(x: f64["batch 4"], w: f64["4"]) -> f64 {
  m = reduce(x, "b c -> c", "mean")
  return wsum(m * m, w) + reduce(x, "b c -> ", "mean")
}
fn g_mean_runtime(x: f64["batch 4"], w: f64["4"]) -> (f64["batch 4"], f64["4"]) {
  gx, gw = grad(f_mean_runtime(x, w), x, w)
  return gx, gw
}

fn f_mean_group(x: f64["2 6"], w: f64["2 2"]) -> f64 {
  return wsum(reduce(x, "a (b k) -> a b", "mean", k = 3), w)
}
fn g_mean_group(x: f64["2 6"], w: f64["2 2"]) -> (f64["2 6"], f64["2 2"]) {
  gx, gw = grad(f_mean_group(x, w), x, w)
  return gx, gw
}

# ---- max and min (the default f64["4"]) -> (f64["4 4"], f64["4"]) {
  gx, gw = grad(f_max_tie(x, w), x, w)
  return gx, gw
}
#! max_tie set x 2 2 1 0.5  1.5 1.5 1.5 -1  0.25 3 -2 3  -1 -0.5 -0.75 -2
#! max_tie set w 1 0.75 -0.5 2
#! max_tie expect x 0.5 0.5 0 0  0.25 0.25 0.25 0  0 -0.25 0 -0.25  0 2 0 0
#! max_tie expect w 2 1.5 3 -0.5

fn f_min_tie(x: f64["4 4"], w: f64["4"]) -> f64 {
  return wsum(reduce(x, "a b -> a", "min"), w)
}
fn g_min_tie(x: f64["4 4"], w: f64["4"]) -> (f64["4 4"], f64["4"]) {
  gx, gw = grad(f_min_tie(x, w), x, w)
  return gx, gw
}
#! min_tie set x -2 1 -2 0.5  1.5 1.5 1.5 1.5  0.25 3 -2 3  -1 -0.5 -0.75 -2
#! min_tie set w 1 0.75 -0.5 2
#! min_tie expect x 0.5 0 0.5 0  0.1875 0.1875 0.1875 0.1875  0 0 -0.5 0  0 0 0 2
#! min_tie expect w -2 1.5 -2 -2

# a tie across several reduced axes (a 2x2 block per output element)
fn f_max_tie_two(x: f64["2 2 2"], w: f64["2"]) -> f64 {
  return wsum(reduce(x, "e b c -> c", "max"), w)
}
fn g_max_tie_two(x: f64["2 2 2"], w: f64["2"]) -> (f64["2 2 2"], f64["2"]) {
  gx, gw = grad(f_max_tie_two(x, w), x, w)
  return gx, gw
}
#! max_tie_two set x 1 0.5  1 0.5  -1 0.5  1 0.5
#! max_tie_two set w 3 -1
#! max_tie_two expect x 1 -0.25  1 -0.25  0 -0.25  1 -0.25
#! max_tie_two expect w 1 0.5

# the max of a repeated tensor: every copy ties, and the thirds add up to 1
fn f_max_repeat(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  r = repeat(x, "a b -> a b k", k = 3)
  return wsum(reduce(r, "a b k -> a b", "max") - 2 * reduce(r, "a b k -> a b", "min"), w)
}
fn g_max_repeat(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_max_repeat(x, w), x, w)
  return gx, gw
}

# ---- prod ----

fn f_prod_one(x: f64["2 3 4"], w: f64["2 4"]) -> f64 {
  return wsum(reduce(x, "a b c -> a c", "prod"), w)
}
fn g_prod_one(x: f64["2 3 4"], w: f64["2 4"]) -> (f64["2 3 4"], f64["2 4"]) {
  gx, gw = grad(f_prod_one(x, w), x, w)
  return gx, gw
}

fn f_prod_two(x: f64["2 3 2"], w: f64["3"]) -> f64 {
  return wsum(reduce(x, "a b c -> b", "prod"), w)
}
fn g_prod_two(x: f64["2 3 2"], w: f64["3"]) -> (f64["2 3 2"], f64["3"]) {
  gx, gw = grad(f_prod_two(x, w), x, w)
  return gx, gw
}

fn f_prod_all(x: f64["2 3"], w: f64) -> f64 {
  return reduce(x, "a b ->", "prod") * w
}
fn g_prod_all(x: f64["2 3"], w: f64) -> (f64["2 3"], f64) {
  gx, gw = grad(f_prod_all(x, w), x, w)
  return gx, gw
}

# Zeros: the gradient of an element is the product of the others, so with
# one zero in a row only the zero's gradient is nonzero, and with two zeros
# every gradient of that row is 0. Rows: [0.5 0 2 -1.5] (one zeronorma[0 3 0 0.25] (two zeros), [1 -0.5 2 0.75] (none). w = [2 -1 0.5].
fn f_prod_zero(x: f64["3 4"], w: f64["3"]) -> f64 {# Arguments of a call must match the parameter types.
dim n = 4
dim m = 3
fn f(x: f32["n"], y: f32["n m"]) -> f32["n"] {
  return x
}
fn g(a: f32["n"], b: f32["n m"], c: f32["m"], i: i64["n"]) -> f32["n"] {
  p = f(b, b)
  q = f(a, a)
  r = f(i, b)
  s = f(c, b)
  t = f(a)
  u = f(a, b, c)
  v = f(x = a, y = b)
  w = f(a, "b")
  return a
}
zero expect w 0 0 -0.75

# prod is linear in each element, so central differences are exact at zeros too
fn f_prod_zero_numeric(x: f64["3 4"], w: f64["3"]) -> f64 {
  return wsum(reduce(x, "a b -> a", "prod"), w)
}
fn g_prod_zero_numeric(x: f64["3 4"], w: f64["3"]) -> (f64["3 4"], f64["3"]) {
  gx, gw = grad(f_prod_zero_numeric(x, w), x, w)
  return gx, gw
}
#! prod_zero_numeric set x 0.5 0 2 -1.5  0 3 0 0.25  1 -0.5 2 0.75

# the prod of a repeated tensor: x^3
fn f_prod_repeat(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(reduce(repeat(x, "a b -> k a b", k = 3), "k a b -> a b", "prod"), w)
}
fn g_prod_repeat(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_prod_repeat(x, w), x, w)
  return gx, gw
}

# ---- reductions composed ----

# a reduction broadcast back over its input (the shape of softmax and norms)
fn f_normalise(x: f64["3 4"], w: f64["3 4"]) -> f64 {
  m = repeat(reduce(x, "a b -> a", "mean"), "a -> a b", b = 4)
  s = repeat(reduce(x * x, "a b -> a", "sum"), "a -> a b", b = 4)
  return wsum((x - m) / sqrt(s), w)
}
fn g_normalise(x: f64["3 4"], w: f64["3 4"]) -> (f64["3 4"], f64["3 4"]) {
  gx, gw = grad(f_normalise(x, w), x, w)
  return gx, gw
}

# a reduction of a reduction
fn f_nested(x: f64["2 3 4"], w: f64["2"]) -> f64 {
  return wsum(reduce(exp(reduce(x, "a b c -> a b", "max")), "a b -> a", "prod"), w)
}
fn g_nested(x: f64["2 3 4"], w: f64["2"]) -> (f64["2 3 4"], f64["2"]) {
  gx, gw = grad(f_nested(x, w), x, w)
  return gx, gw
}
