# Numeric tests: the standard library, generic functions (`...`, size
# variables, `float`), calls with several results, and params, compiled and
# run against numpy (tests/numeric/cases.py).
import "nn.td"

dim batch
dim seq
dim classes = 5
dim hidden = 8
dim wide                        # long rows (the GPU's row cache and past it)
dim fits = 12000                # long rows of a known length: in the row cache
dim past = 12288                # and past it

param w: f32["hidden hidden"] = normal(std = 0.5)
param b: f32["hidden"] = uniform(-1, 1)
param c: f32["hidden"] = constant(0.25)
param ones_i: i64["3"] = ones()

# ---- the standard library ----

fn sm_r1(x: f32["classes"]) -> f32["classes"] {
  return softmax(x)
}
fn sm_r2(x: f32["3 classes"]) -> f32["3 classes"] {
  return softmax(x)
}
fn sm_r3(x: f32["2 3 classes"]) -> f32["2 3 classes"] {
  return softmax(x)
}
fn sm_rt(x: f32["batch seq classes"]) -> f32["batch seq classes"] {
  return softmax(x)
}
fn sm_wide(x: f32["3 wide"]) -> f32["3 wide"] {
  return softmax(x)
}
fn sm_fits(x: f32["3 fits"]) -> f32["3 fits"] {
  return softmax(x)
}
fn sm_past(x: f32["3 past"]) -> f32["3 past"] {
  return softmax(x)
}
fn ln_wide(x: f32["3 wide"], g: f32["wide"], bias: f32["wide"]) -> f32["3 wide"] {
  return layer_norm(x, g, bias)
}
# the gradients of a bf16 contraction: contractions of bf16 operands too (the
# f32 adjoint rounded to bf16), each giving its f32 sums as they are
fn gn_bf16_matmul_grad(x: bf16["3 hidden"], v: bf16["hidden 5"]) -> (f32["3 hidden"], f32["hidden 5"]) {
  loss = reduce(((x @ v) as f32) ** 2, "a b ->", "sum")
  gx, gv = grad(loss, x, v)
  return gx, gv
}
# an f32 weight used in bf16: its gradient is the bf16 product's f32 sums,
# not rounded to bf16 on the way (256 + 1 = 257 stays 257)
fn gn_bf16_weight_grad(x: bf16["3 2"], w: f32["2 1"]) -> f32["2 1"] {
  loss = reduce((x @ (w as bf16)) as f32, "a b ->", "sum")
  gw = grad(loss, w)
  return gw
}
# a bf16 body's f32 head: on the GPU the widening cast and its product
# with a vector are one kernel (a warp a row), the wide rows written too
fn gn_bf16_head(h: bf16["batch wide"], v: f32["wide 1"]) -> (f32["batch 1"], f32["batch wide"]) {
  hf = h as f32
  return hf @ v, hf
}
# the narrow rows a product's, dead after the cast in the plan: the head's
# result may take their memory, so the two stay apart on the GPU
fn gn_bf16_head_chain(x: bf16["batch wide"], w: bf16["wide wide"], v: f32["wide 1"]) -> f32["batch 1"] {
  return ((x @ w) as f32) @ v
}
# a stacked param's gradient: pieces that tile it are stored (no zeros, no
# additions), one piece of it is added to zeros
fn gn_stack_tiles(w: f32["3 4 5"]) -> f32["3 4 5"] {
  loss = reduce(w[0] * 2 + w[1] ** 2 + exp(w[2]), "a b ->", "sum")
  g = grad(loss, w)
  return g
}
# the gradient kept in the workspace and read on: the pieces computed in
# their blocks of it while another buffer (the backward's seed) is live
fn gn_stack_tiles_kept(w: f32["3 4 5"]) -> f32["3 4 5"] {
  loss = reduce(w[0] * 2 + w[1] ** 2 + exp(w[2]), "a b ->", "sum")
  g = grad(loss, w)
  return g * 2 + w
}
fn gn_stack_piece(w: f32["3 4 5"]) -> f32["3 4 5"] {
  loss = reduce(w[1] ** 2, "a b ->", "sum")
  g = grad(loss, w)
  return g
}
# a chain of two: the adjoint between them, a bf16 product's, is read as it is
# (its round trip through f32 simplifies away)
fn gn_bf16_chain_grad(x: bf16["3 hidden"], w: bf16["hidden 6"], v: bf16["6 5"]) -> f32["hidden 6"] {
  loss = reduce(((x @ w @ v) as f32) ** 2, "a b ->", "sum")
  gw = grad(loss, w)
  return gw
}
fn sm_f64(x: f64["3 classes"]) -> f64["3 classes"] {
  return softmax(x)
}
fn sm_bf16(x: bf16["3 classes"]) -> bf16["3 classes"] {
  return softmax(x)
}
fn lsm_r1(x: f32["classes"]) -> f32["classes"] {
  return log_softmax(x)
}
fn lsm_r3(x: f32["2 3 classes"]) -> f32["2 3 classes"] {
  return log_softmax(x)
}
fn ln_r2(x: f32["3 hidden"], g: f32["hidden"], bias: f32["hidden"]) -> f32["3 hidden"] {
  return layer_norm(x, g, bias)
}
fn ln_r3(x: f32["2 3 hidden"], g: f32["hidden"], bias: f32["hidden"]) -> f32["2 3 hidden"] {
  return layer_norm(x, g, bias)
}
fn ln_r1(x: f32["hidden"], g: f32["hidden"], bias: f32["hidden"]) -> f32["hidden"] {
  return layer_norm(x, g, bias)
}
fn ce_r2(logits: f32["4 classes"], t: i64["4"]) -> f32 {
  return cross_entropy(logits, t)
}
fn ce_r3(logits: f32["2 3 classes"], t: i64["2 3"]) -> f32 {
  return cross_entropy(logits, t)
}
fn ce_r1(logits: f32["classes"], t: i64) -> f32 {
  return cross_entropy(logits, t)
}
fn ce_rt(logits: f32["batch classes"], t: i64["batch"]) -> f32 {
  return cross_entropy(logits, t)
}

# ---- generic functions ----

fn mm(a: f32["i j"], b: f32["j k"]) -> f32["i k"] {
  return a @ b
}
fn scale(x: f32["... m"]) -> f32["... m"] {
  return x / sqrt(m)
}
fn pairs(x: f32["... 2*m"], like: f32["m"]) -> f32["... 2 m"] {
  return rearrange(x, "... (two m) -> ... two m", two = 2)
}
fn gn_use(x: f32["batch 16"], v: f32["16 4"]) -> f32["batch 2 2"] {
  y = scale(mm(x, v))
  return pairs(y, ones("2"))
}
fn gn_mm_twice(x: f32["3 4"], y: f32["4 5"], z: f32["5 2"]) -> f32["3 2"] {
  return mm(mm(x, y), z)
}

fn stats(x: f32["batch hidden"]) -> (f32["batch"], f32["batch"]) {
  total = reduce(x, "b h -> b", "sum")
  return total, total / hidden
}
fn centre(x: f32["batch hidden"]) {
  total, mean = stats(x)
  return x - repeat(mean, "b -> b h", h = hidden)
}
fn gn_twice_centred(x: f32["batch hidden"]) -> f32["batch hidden"] {
  x = centre(x)
  x = centre(x)
  return x * 2
}
fn gn_stats(x: f32["batch hidden"]) -> (f32["batch"], f32["batch"]) {
  total, mean = stats(x)
  return total, mean
}

fn scalef(x: float["... m"], by: float) -> float["... m"] {
  return x * by
}
fn gn_float_f32(y: f32["classes"]) -> f32["classes"] {
  return scalef(y, 0.5)
}
fn gn_float_bf16(h: bf16["4 classes"]) -> bf16["4 classes"] {
  return scalef(h, 3.0)
}

fn ell_consts(x: f32["... m"]) -> f32["... m"] {
  return x + ones("... m") * m + arange("m") as f32
}
fn gn_ell_consts(x: f32["2 3 4"]) -> f32["2 3 4"] {
  return ell_consts(x)
}
fn gn_ell_consts_r1(x: f32["7"]) -> f32["7"] {
  return ell_consts(x)
}

fn split_heads(x: f32["... t he"], heads: f32["h"]) -> f32["... h t he/h"] {
  return rearrange(x, "... t (h e) -> ... h t e", h = h)
}
fn attend(q: f32["... t e"], k: f32["... s e"], v: f32["... s e"]) -> f32["... t e"] {
  scores = einsum(q, k, "... t e, ... s e -> ... t s") / sqrt(e)
  return softmax(scores) @ v
}
fn gn_attention(x: f32["2 seq hidden"], wq: f32["hidden hidden"], wk: f32["hidden hidden"], wv: f32["hidden hidden"]) -> f32["2 seq hidden"] {
  h = ones("2")
  q = split_heads(x @ wq, h)
  k = split_heads(x @ wk, h)
  v = split_heads(x @ wv, h)
  o = attend(q, k, v)
  return rearrange(o, "b h t e -> b t (h e)")
}
fn gn_causal_attention(q: f32["seq 4"], k: f32["seq 4"], v: f32["seq 4"]) -> f32["seq 4"] {
  scores = q @ rearrange(k, "s e -> e s") / 2
  masked = where(triu(ones("seq seq"), diagonal = 1) > 0, -1e9, scores)
  return softmax(masked) @ v
}

# ---- params ----

fn pm_affine(x: f32["batch hidden"]) -> f32["batch hidden"] {
  return x @ w + b + c
}
fn pm_consts() -> (f32["hidden"], i64["3"]) {
  return c, ones_i
}
fn pm_mlp(x: f32["batch hidden"]) -> f32["batch"] {
  h = layer_norm(relu(x @ w + b), c * 4, b)
  return reduce(h, "b h -> b", "sum")
}
