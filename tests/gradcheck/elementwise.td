# Gradient checks: elementwise functions, arithmetic, max/min, where,
# comparisons, casts and broadcasting (tests/gradcheck/run.py).
#
# Each case is a pair: f_CASE returns a scalar loss made from the operation
# under test, weighted by an input `w` of the result's shape (so every
# element of the result matters and no gradient is symmetric), and g_CASE
# returns grad(f_CASE(...), ...) by every float input, in order (or by the
# tensors a `wrt` line names). The `#! CASE ...` lines set inputs' values
# (`set`) or domains (`pos`: drawn from [0.3, 2]; the default is +-[0.2, 1.5],
# away from 0), name the tensors differentiated (`wrt`), give analytic
# gradients (`expect`, compared exactly) and the step and tolerances of the
# f32 cases (`tol H RTOL ATOL`); tests/gradcheck/gradcheck.c has the rest.
# A case that fails because of a compiler bug is commented out with
# `# FAILS: ...` (or listed in run.py's KNOWN_FAILURES).

fn wsum(y: f64["..."], w: f64["..."]) -> f64 {
  return reduce(y * w, "... ->", "sum")
}

# ---- unary functions ----

fn f_sqrt(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(sqrt(x), w)
}
fn g_sqrt(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_sqrt(x, w), x, w)
  return gx, gw
}
#! sqrt pos x

fn f_rsqrt(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(rsqrt(x), w)
}
fn g_rsqrt(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_rsqrt(x, w), x, w)
  return gx, gw
}
#! rsqrt pos x

fn f_exp(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(exp(x), w)
}
fn g_exp(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_exp(x, w), x, w)
  return gx, gw
}

fn f_log(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(log(x), w)
}
fn g_log(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_log(x, w), x, w)
  return gx, gw
}
#! log pos x

fn f_tanh(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(tanh(x), w)
}
fn g_tanh(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_tanh(x, w), x, w)
  return gx, gw
}

fn f_sigmoid(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(sigmoid(x), w)
}
fn g_sigmoid(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_sigmoid(x, w), x, w)
  return gx, gw
}

fn f_gelu(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(gelu(x), w)
}
fn g_gelu(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_gelu(x, w), x, w)
  return gx, gw
}

fn f_silu(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(silu(x), w)
}
fn g_silu(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_silu(x, w), x, w)
  return gx, gw
}

fn f_sin(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(sin(x), w)
}
fn g_sin(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_sin(x, w), x, w)
  return gx, gw
}

fn f_cos(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(cos(x), w)
}
fn g_cos(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_cos(x, w), x, w)
  return gx, gw
}

# abs and relu: the default inputs are at least 0.2 away from 0
fn f_abs(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(abs(x), w)
}
fn g_abs(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_abs(x, w), x, w)
  return gx, gw
}

fn f_relu(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(relu(x), w)
}
fn g_relu(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_relu(x, w), x, w)
  return gx, gw
}
#! relu set x 0.5 -0.25 1.25 -1.5 0.75 -0.375

fn f_neg(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(-x, w)
}
fn g_neg(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_neg(x, w), x, w)
  return gx, gw
}

fn f_plus(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(+x, w)
}
fn g_plus(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_plus(x, w), x, w)
  return gx, gw
}

# every function in one fused expression
fn f_chain(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  y = sqrt(abs(x)) + rsqrt(x * x + 0.5) + exp(-x) + log(sigmoid(x))
  z = tanh(y) * gelu(x) + silu(y) * relu(x) + sin(x) * cos(y)
  return wsum(z, w)
}
fn g_chain(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_chain(x, w), x, w)
  return gx, gw
}

# ---- arithmetic ----

fn f_add(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(x + y, w)
}
fn g_add(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"], f64["2 3"]) {
  gx, gy, gw = grad(f_add(x, y, w), x, y, w)
  return gx, gy, gw
}

fn f_sub(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(x - y, w)
}
fn g_sub(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"], f64["2 3"]) {
  gx, gy, gw = grad(f_sub(x, y, w), x, y, w)
  return gx, gy, gw
}

fn f_mul(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(x * y, w)
}
fn g_mul(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"], f64["2 3"]) {
  gx, gy, gw = grad(f_mul(x, y, w), x, y, w)
  return gx, gy, gw
}

fn f_div(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(x / y, w)
}
fn g_div(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"], f64["2 3"]) {
  gx, gy, gw = grad(f_div(x, y, w), x, y, w)
  return gx, gy, gw
}
#! div pos y

# x ** y with both tensors (x > 0)
fn f_pow(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(x ** y, w)
}
fn g_pow(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"], f64["2 3"]) {
  gx, gy, gw = grad(f_pow(x, y, w), x, y, w)
  return gx, gy, gw
}
#! pow pos x

# integer, negative and fractional literal exponents, and a literal base
fn f_pow_lit(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(x ** 2 + x ** 3 - x ** -1 + x ** 0.5 + x ** -1.5 + 2 ** x + 1.5 ** (x * x), w)
}
fn g_pow_lit(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_pow_lit(x, w), x, w)
  return gx, gw
}
#! pow_lit pos x

# a negative base to an integer power
fn f_pow_neg(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(x ** 2 + x ** 3, w)
}
fn g_pow_neg(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_pow_neg(x, w), x, w)
  return gx, gw
}
#! pow_neg set x -0.5 -1.25 -0.75 -1.5 -0.375 -2

# literals on either side of each operator
fn f_literals(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum((3 - x) * 2.5 + 2 / x - x / 4 + (x + 1) * (x - 0.5) / 3, w)
}
fn g_literals(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_literals(x, w), x, w)
  return gx, gw
}

# one tensor in several places of one expression
fn f_reuse(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(x * x + x / y - x * y * x + (x + x) * y, w)
}
fn g_reuse(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"], f64["2 3"]) {
  gx, gy, gw = grad(f_reuse(x, y, w), x, y, w)
  return gx, gy, gw
}

# a scalar input
fn f_scalar(s: f64, x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(exp(s * x) + s, w) * s
}
fn g_scalar(s: f64, x: f64["2 3"], w: f64["2 3"]) -> (f64, f64["2 3"], f64["2 3"]) {
  gs, gx, gw = grad(f_scalar(s, x, w), s, x, w)
  return gs, gx, gw
}

# ---- max and min ----

fn f_max(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(max(x, y), w)
}
fn g_max(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"], f64["2 3"]) {
  gx, gy, gw = grad(f_max(x, y, w), x, y, w)
  return gx, gy, gw
}

fn f_min(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(min(x, y), w)
}
fn g_min(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"], f64["2 3"]) {
  gx, gy, gw = grad(f_min(x, y, w), x, y, w)
  return gx, gy, gw
}

# against a literal, and broadcast
fn f_max_lit(x: f64["2 3"], y: f64["3"], w: f64["2 3"]) -> f64 {
  return wsum(max(x, 0.1) + min(x, -0.1) + max(x, y) - min(y, x), w)
}
fn g_max_lit(x: f64["2 3"], y: f64["3"], w: f64["2 3"]) -> (f64["2 3"], f64["3"], f64["2 3"]) {
  gx, gy, gw = grad(f_max_lit(x, y, w), x, y, w)
  return gx, gy, gw
}

# An exact tie between the operands: torch gives each half the gradient.
# Elements 0, 2 and 5 tie; the others have x > y (1, 4) or x < y (3).
fn f_max_tie(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(max(x, y), w)
}
fn g_max_tie(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gy = grad(f_max_tie(x, y, w), x, y)
  return gx, gy
}
#! max_tie wrt x y
#! max_tie set x 0.5 1.0 -0.25 0.125 2.0 -1.5
#! max_tie set y 0.5 0.75 -0.25 0.375 1.0 -1.5
#! max_tie set w 1.5 -2.0 0.25 3.0 -0.5 1.0
#! max_tie expect x 0.75 -2.0 0.125 0 -0.5 0.5
#! max_tie expect y 0.75 0 0.125 3.0 0 0.5

fn f_min_tie(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(min(x, y), w)
}
fn g_min_tie(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gy = grad(f_min_tie(x, y, w), x, y)
  return gx, gy
}
#! min_tie wrt x y
#! min_tie set x 0.5 1.0 -0.25 0.125 2.0 -1.5
#! min_tie set y 0.5 0.75 -0.25 0.375 1.0 -1.5
#! min_tie set w 1.5 -2.0 0.25 3.0 -0.5 1.0
#! min_tie expect x 0.75 0 0.125 3.0 0 0.5
#! min_tie expect y 0.75 -2.0 0.125 0 -0.5 0.5

# the central differences of max at a tie are 0.5 too: checked numerically as well
fn f_max_tie_numeric(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(max(x, y), w)
}
fn g_max_tie_numeric(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gy = grad(f_max_tie_numeric(x, y, w), x, y)
  return gx, gy
}
#! max_tie_numeric wrt x y
#! max_tie_numeric set x 0.5 1.0 -0.25 0.125 2.0 -1.5
#! max_tie_numeric set y 0.5 0.75 -0.25 0.375 1.0 -1.5

# max and min of a tensor with itself: a tie everywhere, the halves add up to 1
fn f_max_self(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(max(x, x) + min(x, x) * x, w)
}
fn g_max_self(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_max_self(x, w), x, w)
  return gx, gw
}

# against a literal at the tie: max(x, 0) at x = 0 gives half (torch.maximum),
# relu at 0 gives 0 and abs at 0 gives 0 (torch's relu and sign)
fn f_zero_ties(x: f64["4"], w: f64["4"]) -> f64 {
  return wsum(max(x, 0.0) + 2 * min(x, 0.0) + 4 * relu(x) + 8 * abs(x), w)
}
fn g_zero_ties(x: f64["4"], w: f64["4"]) -> f64["4"] {
  return grad(f_zero_ties(x, w), x)
}
#! zero_ties wrt x
#! zero_ties set x 0 0.5 -0.25 0
#! zero_ties set w 1 1 1 -2
#! zero_ties expect x 1.5 13 -6 -3

# pow at zeros, as torch: a zero exponent gives the base no gradient and a
# zero base gives the exponent none; (x, y) = (0, 2) (0, 0) (1, 0) (1, 3)
# (0, 1) (1, -2)
fn f_pow_zero(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(x ** y, w)
}
fn g_pow_zero(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gy = grad(f_pow_zero(x, y, w), x, y)
  return gx, gy
}
#! pow_zero wrt x y
#! pow_zero set x 0 0 1 1 0 1
#! pow_zero set y 2 0 0 3 1 -2
#! pow_zero set w 1.5 -2 0.5 0.25 3 1
#! pow_zero expect x 0 0 0 0.75 3 -2
#! pow_zero expect y 0 0 0 0 0 0

# ---- where and comparisons ----

fn f_where(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(where(x > y, x * y, exp(y)) + where(x < 0, 0.5, x), w)
}
fn g_where(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"], f64["2 3"]) {
  gx, gy, gw = grad(f_where(x, y, w), x, y, w)
  return gx, gy, gw
}

# where with a broadcast condition and branches of other shapes
fn f_where_bcast(c: f64["3"], x: f64["2 1"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(where(c > 0, x, y * y), w)
}
fn g_where_bcast(c: f64["3"], x: f64["2 1"], y: f64["2 3"], w: f64["2 3"]) -> (f64["3"], f64["2 1"], f64["2 3"], f64["2 3"]) {
  gc, gx, gy, gw = grad(f_where_bcast(c, x, y, w), c, x, y, w)
  return gc, gx, gy, gw
}

# comparisons pass no gradient: the loss is piecewise constant in x and y
fn f_compare(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  a = (x > y) as f64 + (x >= 0) as f64 * 2 + (x < y) * w + ((x <= y) as f64) * 3 + (x == y) as f64 + (x != 0.5) * x
  return wsum(a, w)
}
fn g_compare(x: f64["2 3"], y: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"], f64["2 3"]) {
  gx, gy, gw = grad(f_compare(x, y, w), x, y, w)
  return gx, gy, gw
}

# ---- casts ----

# f64 -> f32 -> f64: the f32 values round to 2^-24 relative, so the steps
# are 1e-3 and the tolerance rtol 1e-3, atol 1e-5
fn f_cast_f32(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  y = tanh(x as f32) * 2.0
  return wsum((y * y) as f64, w)
}
fn g_cast_f32(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_cast_f32(x, w), x, w)
  return gx, gw
}
#! cast_f32 tol 1e-3 1e-3 1e-5

# an f32 input in an f64 loss: the gradient is f32. Steps 1e-4 (whole f32
# values), rtol 1e-5, atol 1e-7: the loss is f64, but the gradient is
# rounded to f32
fn f_f32_input(x: f32["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(exp(x as f64) * (x as f64), w)
}
fn g_f32_input(x: f32["2 3"], w: f64["2 3"]) -> (f32["2 3"], f64["2 3"]) {
  gx, gw = grad(f_f32_input(x, w), x, w)
  return gx, gw
}
#! f32_input tol 1e-4 1e-5 1e-7

# f32 all the way, an f32 loss: rtol 1e-3, atol 1e-4, steps 1e-2
fn f_f32_loss(x: f32["2 3"], w: f32["2 3"]) -> f32 {
  return reduce(sigmoid(x) * w * x, "a b ->", "sum")
}
fn g_f32_loss(x: f32["2 3"], w: f32["2 3"]) -> (f32["2 3"], f32["2 3"]) {
  gx, gw = grad(f_f32_loss(x, w), x, w)
  return gx, gw
}
#! f32_loss tol 1e-2 1e-3 1e-4

# an f32 loss of f64 inputs: steps 1e-2, rtol 1e-3, atol 1e-4
fn f_f32_loss_f64_input(x: f64["2 3"], w: f64["2 3"]) -> f32 {
  return reduce(tanh(x as f32) * (w as f32), "a b ->", "sum")
}
fn g_f32_loss_f64_input(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_f32_loss_f64_input(x, w), x, w)
  return gx, gw
}
#! f32_loss_f64_input tol 1e-2 1e-3 1e-4

# bf16 and f16 inputs, widened at once: their gradients are f32. The steps
# are 1e-2 (a bf16 ulp is 2^-8 relative), rtol 1e-3, atol 1e-5
fn f_narrow_input(x: bf16["2 3"], y: f16["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(exp(x as f64) * (y as f64) + sin((y as f32) * (x as f32)) as f64, w)
}
fn g_narrow_input(x: bf16["2 3"], y: f16["2 3"], w: f64["2 3"]) -> (f32["2 3"], f32["2 3"], f64["2 3"]) {
  gx, gy, gw = grad(f_narrow_input(x, y, w), x, y, w)
  return gx, gy, gw
}
#! narrow_input tol 1e-2 1e-3 1e-5

# casts to f64 of integers and bools carry no gradient
fn f_cast_int(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(((x * 4) as i64) as f64 + (x > 0) as f64 + x, w)
}
fn g_cast_int(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_cast_int(x, w), x, w)
  return gx, gw
}
#! cast_int set x 0.3 -0.6 1.1 -1.4 0.9 0.2

# ---- broadcasting ----

# the right operand broadcast over leading axes
fn f_bcast_lead(x: f64["2 3"], y: f64["3"], w: f64["2 3"]) -> f64 {
  return wsum(x * y + y, w)
}
fn g_bcast_lead(x: f64["2 3"], y: f64["3"], w: f64["2 3"]) -> (f64["2 3"], f64["3"], f64["2 3"]) {
  gx, gy, gw = grad(f_bcast_lead(x, y, w), x, y, w)
  return gx, gy, gw
}

# the left operand broadcast
fn f_bcast_left(x: f64["3"], y: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(x / y - x, w)
}
fn g_bcast_left(x: f64["3"], y: f64["2 3"], w: f64["2 3"]) -> (f64["3"], f64["2 3"], f64["2 3"]) {
  gx, gy, gw = grad(f_bcast_left(x, y, w), x, y, w)
  return gx, gy, gw
}
#! bcast_left pos y

# unit axes on both sides: 2 1 against 1 3
fn f_bcast_outer(x: f64["2 1"], y: f64["1 3"], w: f64["2 3"]) -> f64 {
  return wsum(x * y + exp(x - y), w)
}
fn g_bcast_outer(x: f64["2 1"], y: f64["1 3"], w: f64["2 3"]) -> (f64["2 1"], f64["1 3"], f64["2 3"]) {
  gx, gy, gw = grad(f_bcast_outer(x, y, w), x, y, w)
  return gx, gy, gw
}

# a middle unit axis and a missing leading one, three operands
fn f_bcast_mid(x: f64["2 1 4"], y: f64["3 1"], z: f64["4"], w: f64["2 3 4"]) -> f64 {
  return wsum(x * y + z * x - y * z, w)
}
fn g_bcast_mid(x: f64["2 1 4"], y: f64["3 1"], z: f64["4"], w: f64["2 3 4"]) -> (f64["2 1 4"], f64["3 1"], f64["4"], f64["2 3 4"]) {
  gx, gy, gz, gw = grad(f_bcast_mid(x, y, z, w), x, y, z, w)
  return gx, gy, gz, gw
}

# a scalar tensor and a size-1 tensor against a tensor
fn f_bcast_scalar(s: f64, u: f64["1"], x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(s * x + u * x * x - s * u, w)
}
fn g_bcast_scalar(s: f64, u: f64["1"], x: f64["2 3"], w: f64["2 3"]) -> (f64, f64["1"], f64["2 3"], f64["2 3"]) {
  gs, gu, gx, gw = grad(f_bcast_scalar(s, u, x, w), s, u, x, w)
  return gs, gu, gx, gw
}

# the weight broadcast: the result is smaller than the loss's operand
fn f_bcast_weight(x: f64["2 3"], w: f64["3"]) -> f64 {
  return reduce(tanh(x) * w, "a b ->", "sum")
}
fn g_bcast_weight(x: f64["2 3"], w: f64["3"]) -> (f64["2 3"], f64["3"]) {
  gx, gw = grad(f_bcast_weight(x, w), x, w)
  return gx, gw
}
