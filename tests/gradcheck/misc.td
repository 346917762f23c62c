# Gradient checks: take and table[idx] (repeated indices accumulate), the
# standard library, calls, loops, params, gradients by locals, and the
# lesson's f32 check (tests/gradcheck/run.py; see elementwise.td for the
# layout).
import "nn.td"

dim batch      # bound to 3 by the driver

param pw: f64["3 4"] = normal(std = 0.1)
param pb: f64["4"] = normal(std = 0.1)
param stack: f64["3 4 4"] = normal(std = 0.5)

fn wsum(y: f64["..."], w: f64["..."]) -> f64 {
  return reduce(y * w, "... ->", "sum")
}

# ---- take and table[idx] ----

# rows 2 and 0 are taken twice, row 3 never: its gradient is 0
fn f_take(t: f64["4 3"], idx: i64["5"], w: f64["5 3"]) -> f64 {
  return wsum(take(t, idx, "v e, i -> i e"), w)
}
fn g_take(t: f64["4 3"], idx: i64["5"], w: f64["5 3"]) -> (f64["4 3"], f64["5 3"]) {
  gt, gw = grad(f_take(t, idx, w), t, w)
  return gt, gw
}
#! take set idx 2 0 2 1 0

# the indexed axis last and the output transposed, i32 indices
fn f_take_last(t: f64["3 4"], idx: i32["2 3"], w: f64["2 3 3"]) -> f64 {
  return wsum(tanh(take(t, idx, "e v, a b -> a e b")), w)
}
fn g_take_last(t: f64["3 4"], idx: i32["2 3"], w: f64["2 3 3"]) -> (f64["3 4"], f64["2 3 3"]) {
  gt, gw = grad(f_take_last(t, idx, w), t, w)
  return gt, gw
}
#! take_last set idx 3 1 3  0 3 1

# the middle axis of three, u16 indices, `...` in the indices
fn f_take_mid(t: f64["2 4 3"], idx: u16["2 2"], w: f64["3 2 2 2"]) -> f64 {
  return wsum(take(t, idx, "a v e, ... -> e ... a") ** 2, w)
}
fn g_take_mid(t: f64["2 4 3"], idx: u16["2 2"], w: f64["3 2 2 2"]) -> (f64["2 4 3"], f64["3 2 2 2"]) {
  gt, gw = grad(f_take_mid(t, idx, w), t, w)
  return gt, gw
}
#! take_mid set idx 1 1 2 1

fn f_take_1d(t: f64["4"], idx: i64["6"], w: f64["6"]) -> f64 {
  return wsum(exp(take(t, idx, "v, i -> i")), w)
}
fn g_take_1d(t: f64["4"], idx: i64["6"], w: f64["6"]) -> (f64["4"], f64["6"]) {
  gt, gw = grad(f_take_1d(t, idx, w), t, w)
  return gt, gw
}
#! take_1d set idx 3 3 3 0 1 3

# an embedding look-up: table[idx] with a 2-D index
fn f_embed(t: f64["5 3"], idx: i64["2 3"], w: f64["2 3 3"]) -> f64 {
  return wsum(t[idx], w)
}
fn g_embed(t: f64["5 3"], idx: i64["2 3"], w: f64["2 3 3"]) -> (f64["5 3"], f64["2 3 3"]) {
  gt, gw = grad(f_embed(t, idx, w), t, w)
  return gt, gw
}
#! embed set idx 4 1 4  1 1 0

# the table computed from other tensors, looked up twice
fn f_embed_computed(a: f64["5 3"], b: f64["3"], idx: i64["4"], w: f64["4 3"]) -> f64 {
  t = tanh(a * b)
  return wsum(t[idx] * t[idx], w)
}
fn g_embed_computed(a: f64["5 3"], b: f64["3"], idx: i64["4"], w: f64["4 3"]) -> (f64["5 3"], f64["3"], f64["4 3"]) {
  ga, gb, gw = grad(f_embed_computed(a, b, idx, w), a, b, w)
  return ga, gb, gw
}
#! embed_computed set idx 0 3 3 1

# ---- the standard library ----

fn f_softmax(x: f64["3 4"], w: f64["3 4"]) -> f64 {
  return wsum(softmax(x), w)
}
fn g_softmax(x: f64["3 4"], w: f64["3 4"]) -> (f64["3 4"], f64["3 4"]) {
  gx, gw = grad(f_softmax(x, w), x, w)
  return gx, gw
}

fn f_log_softmax(x: f64["2 3 4"], w: f64["2 3 4"]) -> f64 {
  return wsum(log_softmax(x), w)
}
fn g_log_softmax(x: f64["2 3 4"], w: f64["2 3 4"]) -> (f64["2 3 4"], f64["2 3 4"]) {
  gx, gw = grad(f_log_softmax(x, w), x, w)
  return gx, gw
}

fn f_layer_norm(x: f64["3 4"], gain: f64["4"], bias: f64["4"], w: f64["3 4"]) -> f64 {
  return wsum(layer_norm(x, gain, bias), w)
}
fn g_layer_norm(x: f64["3 4"], gain: f64["4"], bias: f64["4"], w: f64["3 4"]) -> (f64["3 4"], f64["4"], f64["4"], f64["3 4"]) {
  gx, gg, gb, gw = grad(f_layer_norm(x, gain, bias, w), x, gain, bias, w)
  return gx, gg, gb, gw
}

fn f_cross_entropy(logits: f64["3 4"], targets: i64["3"]) -> f64 {
  return cross_entropy(logits, targets)
}
fn g_cross_entropy(logits: f64["3 4"], targets: i64["3"]) -> f64["3 4"] {
  return grad(f_cross_entropy(logits, targets), logits)
}
#! cross_entropy set targets 1 3 0

# a small classifier: layer norm, a product, cross-entropy over two axes
fn f_classifier(x: f64["2 3 4"], gain: f64["4"], bias: f64["4"], m: f64["4 5"], targets: i64["2 3"]) -> f64 {
  return cross_entropy(layer_norm(x, gain, bias) @ m, targets)
}
fn g_classifier(x: f64["2 3 4"], gain: f64["4"], bias: f64["4"], m: f64["4 5"], targets: i64["2 3"]) -> (f64["2 3 4"], f64["4"], f64["4"], f64["4 5"]) {
  gx, gg, gb, gm = grad(f_classifier(x, gain, bias, m, targets), x, gain, bias, m)
  return gx, gg, gb, gm
}
#! classifier set targets 4 0 2  1 1 3

# ---- calls ----

fn layer(x: f64["... 3"], m: f64["3 3"]) -> f64["... 3"] {
  return tanh(x @ m) + x
}

# one function called twice, on its own result: m's adjoints accumulate
fn f_call_twice(x: f64["2 3"], m: f64["3 3"], w: f64["2 3"]) -> f64 {
  return wsum(layer(layer(x, m), m), w)
}
fn g_call_twice(x: f64["2 3"], m: f64["3 3"], w: f64["2 3"]) -> (f64["2 3"], f64["3 3"], f64["2 3"]) {
  gx, gm, gw = grad(f_call_twice(x, m, w), x, m, w)
  return gx, gm, gw
}

# called on two inputs, the results multiplied
fn f_call_two_inputs(x: f64["2 3"], y: f64["3"], m: f64["3 3"], w: f64["2 3"]) -> f64 {
  return wsum(layer(x, m) * layer(y, m), w)
}
fn g_call_two_inputs(x: f64["2 3"], y: f64["3"], m: f64["3 3"], w: f64["2 3"]) -> (f64["2 3"], f64["3"], f64["3 3"], f64["2 3"]) {
  gx, gy, gm, gw = grad(f_call_two_inputs(x, y, m, w), x, y, m, w)
  return gx, gy, gm, gw
}

fn moments(x: f64["n k"]) -> (f64["n"], f64["n"]) {
  mean = reduce(x, "n k -> n", "mean")
  return mean, reduce((x - repeat(mean, "n -> n k", k = k)) ** 2, "n k -> n", "mean")
}

# a call with two results, both used
fn f_call_tuple(x: f64["3 4"], w: f64["3"]) -> f64 {
  m, v = moments(x)
  return wsum(m * v + sqrt(v), w)
}
fn g_call_tuple(x: f64["3 4"], w: f64["3"]) -> (f64["3 4"], f64["3"]) {
  gx, gw = grad(f_call_tuple(x, w), x, w)
  return gx, gw
}

# ---- loops ----

# three layers, unrolled: each reads its slice of m and re-binds h
fn f_loop(x: f64["2 4"], m: f64["3 4 4"], w: f64["2 4"]) -> f64 {
  h = x
  for l in 0..3 {
    h = tanh(h @ m[l]) + h * 0.5
  }
  return wsum(h, w)
}
fn g_loop(x: f64["2 4"], m: f64["3 4 4"], w: f64["2 4"]) -> (f64["2 4"], f64["3 4 4"], f64["2 4"]) {
  gx, gm, gw = grad(f_loop(x, m, w), x, m, w)
  return gx, gm, gw
}

# the same weight in every iteration, and an accumulator
fn f_loop_shared(x: f64["4"], m: f64["4 4"], w: f64["4"]) -> f64 {
  total = x * 0.0
  for l in 0..4 {
    x = sin(m @ x)
    total = total + x * (l + 1)
  }
  return wsum(total, w)
}
fn g_loop_shared(x: f64["4"], m: f64["4 4"], w: f64["4"]) -> (f64["4"], f64["4 4"], f64["4"]) {
  gx, gm, gw = grad(f_loop_shared(x, m, w), x, m, w)
  return gx, gm, gw
}

# ---- params ----

fn f_param(x: f64["2 3"], w: f64["2 4"]) -> f64 {
  return wsum(tanh(x @ pw + pb), w)
}
fn g_param(x: f64["2 3"], w: f64["2 4"]) -> (f64["2 3"], f64["3 4"], f64["4"], f64["2 4"]) {
  gx, gpw, gpb, gw = grad(f_param(x, w), x, pw, pb, w)
  return gx, gpw, gpb, gw
}
#! param wrt x pw pb w

# a layer with a bias and relu (the product's epilogue), then one with a
# bias read by the sum: relu's gradient reads its output
fn f_mlp(x: f64["batch 3"], m: f64["4 2"], c: f64["2"], w: f64["batch 2"]) -> f64 {
  return wsum(tanh(relu(x @ pw + pb) @ m + c), w)
}
fn g_mlp(x: f64["batch 3"], m: f64["4 2"], c: f64["2"], w: f64["batch 2"]) -> (f64["batch 3"], f64["3 4"], f64["4"], f64["4 2"], f64["2"]) {
  gx, gpw, gpb, gm, gc = grad(f_mlp(x, m, c, w), x, pw, pb, m, c)
  return gx, gpw, gpb, gm, gc
}
#! mlp wrt x pw pb m c

# a param stack indexed in a loop, its values set
fn f_param_loop(x: f64["batch 4"], w: f64["batch 4"]) -> f64 {
  for l in 0..3 {
    x = relu(x @ stack[l]) - x
  }
  return wsum(x, w)
}
fn g_param_loop(x: f64["batch 4"], w: f64["batch 4"]) -> (f64["3 4 4"], f64["batch 4"], f64["batch 4"]) {
  gs, gx, gw = grad(f_param_loop(x, w), stack, x, w)
  return gs, gx, gw
}
#! param_loop wrt stack x w

param emb: f64["5 3"] = normal(std = 1)

# an embedding param looked up with repeats, through cross-entropy
fn f_param_embed(tokens: i64["2 3"], m: f64["3 5"], targets: i64["2 3"]) -> f64 {
  return cross_entropy(emb[tokens] @ m, targets)
}
fn g_param_embed(tokens: i64["2 3"], m: f64["3 5"], targets: i64["2 3"]) -> (f64["5 3"], f64["3 5"]) {
  ge, gm = grad(f_param_embed(tokens, m, targets), emb, m)
  return ge, gm
}
#! param_embed wrt emb m
#! param_embed set tokens 4 0 4  2 4 0
#! param_embed set targets 1 1 0  3 2 4

# ---- what grad() differentiates by ----

# an input the loss does not read: its gradient is zeros
fn f_unused(x: f64["2 3"], y: f64["3"], w: f64["2 3"]) -> f64 {
  return wsum(x * x, w)
}
fn g_unused(x: f64["2 3"], y: f64["3"], w: f64["2 3"]) -> (f64["2 3"], f64["3"], f64["2 3"]) {
  gx, gy, gw = grad(f_unused(x, y, w), x, y, w)
  return gx, gy, gw
}

# one tensor named twice
fn f_twice(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(exp(x), w)
}
fn g_twice(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  a, b = grad(f_twice(x, w), x, x)
  return a, b
}
#! twice wrt x x

# by a local: h = x - 1 is an intermediate, and the loss of h + 1 is f(x)
fn f_local(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(tanh(x), w)
}
fn g_local(x: f64["2 3"], w: f64["2 3"]) -> f64["2 3"] {
  h = x - 1.0
  return grad(wsum(tanh(h + 1.0), w), h)
}
#! local wrt x

# a loss written in g itself, not through a call
fn f_inline(x: f64["3"], w: f64["3"]) -> f64 {
  return wsum(x * x * x, w)
}
fn g_inline(x: f64["3"], w: f64["3"]) -> (f64["3"], f64["3"]) {
  l = reduce(x * x * x * w, "i ->", "sum")
  gx, gw = grad(l, x, w)
  return gx, gw
}

# ---- the lesson, in f32 ----

# x = [1, 2, 3], w = ones(3), loss = 0.5 (x @ w - 5)^2: w's gradient is
# (x @ w - 5) x = [1, 2, 3], exactly
fn f_lesson(x: f32["3"], w: f32["3"]) -> f32 {
  return 0.5 * (x @ w - 5) ** 2
}
fn g_lesson(x: f32["3"], w: f32["3"]) -> f32["3"] {
  return grad(f_lesson(x, w), w)
}
#! lesson wrt w
#! lesson set x 1 2 3
#! lesson set w 1 1 1
#! lesson expect w 1 2 3

# the same loss checked numerically at other points, in f32: steps 1e-2
# (the loss is quadratic, so central differences are exact but for f32
# rounding), rtol 1e-3, atol 1e-4
fn f_lesson_numeric(x: f32["3"], w: f32["3"]) -> f32 {
  return 0.5 * (x @ w - 5) ** 2
}
fn g_lesson_numeric(x: f32["3"], w: f32["3"]) -> (f32["3"], f32["3"]) {
  gx, gw = grad(f_lesson_numeric(x, w), x, w)
  return gx, gw
}
#! lesson_numeric tol 1e-2 1e-3 1e-4

# ---- more ----

# a look-up in a transposed table
fn f_take_view(t: f64["3 4"], idx: i64["5"], w: f64["5 3"]) -> f64 {
  return wsum(take(rearrange(t, "e v -> v e"), idx, "v e, i -> i e"), w)
}
fn g_take_view(t: f64["3 4"], idx: i64["5"], w: f64["5 3"]) -> (f64["3 4"], f64["5 3"]) {
  gt, gw = grad(f_take_view(t, idx, w), t, w)
  return gt, gw
}
#! take_view set idx 3 0 3 3 1

# two grad() calls in one function, by different tensors
fn f_two_grads(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  return wsum(sin(x) * x, w)
}
fn g_two_grads(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx = grad(f_two_grads(x, w), x)
  gw = grad(f_two_grads(x, w), w)
  return gx, gw
}

# constructors in the loss: constants, no gradient of their own
fn f_constructors(x: f64["2 3"], w: f64["2 3"]) -> f64 {
  a = x * (arange("3") as f64) + ones("2 3", dtype = f64) * x + full("2 1", 0.5, dtype = f64) / x
  return wsum(a + zeros("3", dtype = f64), w)
}
fn g_constructors(x: f64["2 3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_constructors(x, w), x, w)
  return gx, gw
}

# integer and bool tensors mixed with floats: they carry no gradient
fn f_int_mix(x: f64["2 3"], i: i64["2 3"], b: bool["3"], w: f64["2 3"]) -> f64 {
  return wsum(x * i + b * x * x - ((i / 2) as f64) * x + x ** i + max(x, i), w)
}
fn g_int_mix(x: f64["2 3"], i: i64["2 3"], b: bool["3"], w: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  gx, gw = grad(f_int_mix(x, i, b, w), x, w)
  return gx, gw
}
#! int_mix set i 3 -1 0 2 -2 -4
#! int_mix set b 1 0 1

# ---- the loss itself: an input, a reduce, a contraction, an index ----

fn f_loss_input(s: f64, x: f64["3"]) -> f64 {
  return s
}
fn g_loss_input(s: f64, x: f64["3"]) -> (f64, f64["3"]) {
  gs, gx = grad(f_loss_input(s, x), s, x)
  return gs, gx
}

fn f_loss_reduce(x: f64["2 3"]) -> f64 {
  return reduce(x, "a b ->", "mean")
}
fn g_loss_reduce(x: f64["2 3"]) -> f64["2 3"] {
  return grad(f_loss_reduce(x), x)
}

fn f_loss_contract(a: f64["2 3"], b: f64["2 3"]) -> f64 {
  return einsum(a, b, "i j, i j ->")
}
fn g_loss_contract(a: f64["2 3"], b: f64["2 3"]) -> (f64["2 3"], f64["2 3"]) {
  ga, gb = grad(f_loss_contract(a, b), a, b)
  return ga, gb
}

fn f_loss_index(v: f64["4"]) -> f64 {
  return v[2]
}
fn g_loss_index(v: f64["4"]) -> f64["4"] {
  return grad(f_loss_index(v), v)
}

fn f_loss_unit(v: f64["1 1"]) -> f64 {
  return rearrange(v, "1 1 ->")
}
fn g_loss_unit(v: f64["1 1"]) -> f64["1 1"] {
  return grad(f_loss_unit(v), v)
}
