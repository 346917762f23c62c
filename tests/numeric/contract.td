# Numeric tests: einsum, `@`, take, indexing and loops, compiled and run
# against numpy and einops (tests/numeric/cases.py).
dim batch
dim seq
dim vocab = 10
dim d = 4

# ---- einsum: batch, contracted, outer and `...` axes ----

fn es_mm(a: f32["3 4"], b: f32["4 5"]) -> f32["3 5"] {
  return einsum(a, b, "i j, j k -> i k")
}
fn es_mm_tt(a: f32["4 3"], b: f32["5 4"]) -> f32["5 3"] {
  return einsum(a, b, "j i, k j -> k i")
}
fn es_batch(a: f32["2 3 4"], b: f32["2 4 5"]) -> f32["2 3 5"] {
  return einsum(a, b, "b i j, b j k -> b i k")
}
fn es_batch_mid(a: f32["3 2 4"], b: f32["2 4 5"]) -> f32["5 2 3"] {
  return einsum(a, b, "i b j, b j k -> k b i")
}
fn es_two_contracted(a: f32["3 4 5"], b: f32["5 4 6"]) -> f32["3 6"] {
  return einsum(a, b, "i j k, k j l -> i l")
}
# `...` broadcasting a unit axis leaves the operand's own type alone
fn es_ell_bcast_reuse(a: f32["1 3"], b: f32["2 3"]) -> (f32["2"], f32["1 3"]) {
  a2 = a + 1
  return einsum(a2, b, "... i, ... i -> ..."), a2
}
fn es_outer(a: f32["3"], b: f32["4"]) -> f32["3 4"] {
  return einsum(a, b, "i, j -> i j")
}
fn es_outer_t(a: f32["3"], b: f32["4"]) -> f32["4 3"] {
  return einsum(a, b, "i, j -> j i")
}
fn es_outer_r4(a: f32["2 3"], b: f32["4 5"]) -> f32["5 2 4 3"] {
  return einsum(a, b, "i j, k l -> l i k j")
}
fn es_dot(a: f32["7"], b: f32["7"]) -> f32 {
  return einsum(a, b, "i, i ->")
}
fn es_hadamard(a: f32["3 4"], b: f32["3 4"]) -> f32["3 4"] {
  return einsum(a, b, "i j, i j -> i j")
}
fn es_hadamard_t(a: f32["3 4"], b: f32["4 3"]) -> f32["4 3"] {
  return einsum(a, b, "i j, j i -> j i")
}
fn es_outer_batch(a: f32["2 3"], b: f32["2 4"]) -> f32["2 3 4"] {
  return einsum(a, b, "b i, b j -> b i j")
}
fn es_sum_apart(a: f32["3 4"], b: f32["5"]) -> f32["3"] {
  return einsum(a, b, "i j, k -> i")
}
fn es_frobenius(a: f32["3 4"], b: f32["3 4"]) -> f32 {
  return einsum(a, b, "i j, i j ->")
}
fn es_ell(a: f32["2 3 4 5"], b: f32["5 6"]) -> f32["2 3 4 6"] {
  return einsum(a, b, "... i j, j k -> ... i k")
}
fn es_ell_both(a: f32["2 3 4 5"], b: f32["2 3 5 6"]) -> f32["2 3 4 6"] {
  return einsum(a, b, "... i j, ... j k -> ... i k")
}
fn es_ell_bcast(a: f32["2 3 4 5"], b: f32["3 5 6"]) -> f32["2 3 4 6"] {
  return einsum(a, b, "... i j, ... j k -> ... i k")
}
fn es_ell_bcast1(a: f32["2 3 4 5"], b: f32["1 3 5 6"]) -> f32["2 3 4 6"] {
  return einsum(a, b, "... i j, ... j k -> ... i k")
}
fn es_ell_front(a: f32["4 2 3"], b: f32["4"]) -> f32["2 3"] {
  return einsum(a, b, "i ..., i -> ...")
}
fn es_ell_out_first(a: f32["2 3 4"], b: f32["4 5"]) -> f32["5 2 3"] {
  return einsum(a, b, "... j, j k -> k ...")
}
fn es_ell_lesson(x: f32["2 3 4"], y: f32["2 3 4"]) -> f32["2 3 3"] {
  return einsum(x, y, "... seq1 hidden, ... seq2 hidden -> ... seq1 seq2")
}
fn es_group_in(a: f32["2 12"], b: f32["3 4 5"]) -> f32["2 5"] {
  return einsum(a, b, "b (h d), h d e -> b e")
}
fn es_group_out(a: f32["2 3"], b: f32["3 4"]) -> f32["8"] {
  return einsum(a, b, "i j, j k -> (i k)")
}
fn es_group_out_t(a: f32["2 3"], b: f32["3 4"]) -> f32["8"] {
  return einsum(a, b, "i j, j k -> (k i)")
}
fn es_group_both(a: f32["2 6"], b: f32["3 4"]) -> f32["2 8"] {
  return einsum(a, b, "b (h d), d e -> b (h e)")
}
fn es_group_ell(a: f32["2 3 8"], b: f32["4 5"]) -> f32["2 3 2 5"] {
  return einsum(a, b, "... (h d), d e -> ... h e")
}
fn es_three(a: f32["2 3"], b: f32["3 4"], c: f32["4 5"]) -> f32["2 5"] {
  return einsum(a, b, c, "i j, j k, k l -> i l")
}
fn es_three_batch(a: f32["2 3"], b: f32["2 4"], c: f32["2 5"]) -> f32["3 4 5"] {
  return einsum(a, b, c, "b i, b j, b k -> i j k")
}
fn es_three_mixed(a: f32["2 3 4"], b: f32["4 5"], c: f32["2 5"]) -> f32["2 3"] {
  return einsum(a, b, c, "b i j, j k, b k -> b i")
}
fn es_three_scalar(a: f32["3"], b: f32["3 4"], c: f32["4"]) -> f32 {
  return einsum(a, b, c, "i, i j, j ->")
}
fn es_four(a: f32["2 3"], b: f32["3 4"], c: f32["4 5"], e: f32["5 6"]) -> f32["6 2"] {
  return einsum(a, b, c, e, "i j, j k, k l, l m -> m i")
}
fn es_t(a: f32["3 4"]) -> f32["4 3"] {
  return einsum(a, "i j -> j i")
}
fn es_perm3(a: f32["2 3 4"]) -> f32["4 2 3"] {
  return einsum(a, "i j k -> k i j")
}
fn es_rowsum(a: f32["3 4"]) -> f32["3"] {
  return einsum(a, "i j -> i")
}
fn es_colsum_t(a: f32["2 3 4"]) -> f32["4 2"] {
  return einsum(a, "i j k -> k i")
}
fn es_total(a: f32["3 4 5"]) -> f32 {
  return einsum(a, "i j k ->")
}
fn es_trace(a: f32["4 4"]) -> f32 {
  return einsum(a, "i i ->")
}
fn es_diag(a: f32["4 4"]) -> f32["4"] {
  return einsum(a, "i i -> i")
}
fn es_batch_diag(a: f32["2 4 4"]) -> f32["2 4"] {
  return einsum(a, "b i i -> b i")
}
fn es_batch_trace(a: f32["4 2 4"]) -> f32["2"] {
  return einsum(a, "i b i -> b")
}
fn es_diag_mm(a: f32["4 4"], b: f32["4 5"]) -> f32["5"] {
  return einsum(a, b, "i i, i k -> k")
}
fn es_unit(a: f32["3 1 4"], b: f32["4 5"]) -> f32["3 5"] {
  return einsum(a, b, "i 1 j, j k -> i k")
}
fn es_unit_out(a: f32["3 4"], b: f32["4 5"]) -> f32["3 1 5"] {
  return einsum(a, b, "i j, j k -> i () k")
}
fn es_rt(a: f32["batch seq 4"], b: f32["batch seq 4"]) -> f32["batch seq seq"] {
  return einsum(a, b, "b s h, b t h -> b s t")
}
fn es_rt_mm(a: f32["batch 4"], w: f32["4 3"]) -> f32["batch 3"] {
  return einsum(a, w, "b i, i o -> b o")
}
fn es_i32(a: i32["3 4"], b: i32["4 5"]) -> i32["3 5"] {
  return einsum(a, b, "i j, j k -> i k")
}
fn es_i64_batch(a: i64["2 3 4"], b: i64["2 4"]) -> i64["2 3"] {
  return einsum(a, b, "b i j, b j -> b i")
}
fn es_f64(a: f64["2 3 4"], b: f64["2 4 5"]) -> f64["2 5 3"] {
  return einsum(a, b, "b i j, b j k -> b k i")
}
fn es_promote(a: i32["3 4"], b: f32["4 5"]) -> f32["3 5"] {
  return einsum(a, b, "i j, j k -> i k")
}
fn es_promote_int(a: i32["3 4"], b: i64["4 5"]) -> i64["3 5"] {
  return einsum(a, b, "i j, j k -> i k")
}
fn es_bf16(a: bf16["3 8"], b: bf16["8 4"]) -> bf16["3 4"] {
  return einsum(a, b, "i j, j k -> i k")
}
fn es_f16(a: f16["2 3 8"], b: f16["8 4"]) -> f16["2 3 4"] {
  return einsum(a, b, "... j, j k -> ... k")
}
fn es_large(a: f32["32 64"], b: f32["64 48"]) -> f32["32 48"] {
  return einsum(a, b, "i j, j k -> i k")
}

# ---- `@`: numpy's matmul ----

fn mm_2d(x: f32["16 32"], w: f32["32 2"]) -> f32["16 2"] {
  return x @ w
}
fn mm_batched(xb: f32["4 8 16 32"], w: f32["32 2"]) -> f32["4 8 16 2"] {
  return xb @ w
}
fn mm_mv(x: f32["16 32"], v: f32["32"]) -> f32["16"] {
  return x @ v
}
fn mm_vm(v: f32["16"], x: f32["16 32"]) -> f32["32"] {
  return v @ x
}
fn mm_vv(u: f32["32"], v: f32["32"]) -> f32 {
  return u @ v
}
fn mm_bb(a: f32["3 4 5"], b: f32["3 5 6"]) -> f32["3 4 6"] {
  return a @ b
}
fn mm_bcast(a: f32["2 1 4 5"], b: f32["3 5 6"]) -> f32["2 3 4 6"] {
  return a @ b
}
fn mm_bcast_left(a: f32["4 5"], b: f32["2 5 6"]) -> f32["2 4 6"] {
  return a @ b
}
fn mm_bv(a: f32["2 3 4 5"], v: f32["5"]) -> f32["2 3 4"] {
  return a @ v
}
fn mm_vb(v: f32["4"], b: f32["2 3 4 5"]) -> f32["2 3 5"] {
  return v @ b
}
fn mm_ones(a: f32["1 5"], b: f32["5 1"]) -> f32["1 1"] {
  return a @ b
}
fn mm_chain(x: f32["3 4"], w1: f32["4 5"], w2: f32["5 2"]) -> f32["3 2"] {
  return x @ w1 @ w2
}
fn mm_of_view(x: f32["2 3 4"], y: f32["2 3 4"]) -> f32["2 3 3"] {
  return x @ rearrange(y, "b s h -> b h s")
}
fn mm_rt(x: f32["batch 8"], w: f32["8 3"]) -> f32["batch 3"] {
  return x @ w
}
fn mm_rt3(x: f32["batch seq 8"], w: f32["8 3"]) -> f32["batch seq 3"] {
  return x @ w
}
fn mm_scaled(x: f32["3 4"], w: f32["4 5"]) -> f32["3 5"] {
  return 2 * x @ w / sqrt(4)
}
fn mm_i32(a: i32["3 4"], b: i32["4 5"]) -> i32["3 5"] {
  return a @ b
}
fn mm_i64_bcast(a: i64["2 3 4"], b: i64["4 2"]) -> i64["2 3 2"] {
  return a @ b
}
fn mm_f64(a: f64["3 4 5"], b: f64["5 6"]) -> f64["3 4 6"] {
  return a @ b
}
fn mm_f64_vv(a: f64["50"], b: f64["50"]) -> f64 {
  return a @ b
}
fn mm_bf16(a: bf16["4 16"], b: bf16["16 3"]) -> bf16["4 3"] {
  return a @ b
}
fn mm_f16_batched(a: f16["2 4 16"], b: f16["16 3"]) -> f16["2 4 3"] {
  return a @ b
}
fn mm_promote(a: i32["3 4"], b: f32["4 5"]) -> f32["3 5"] {
  return a @ b
}

# ---- take and table[idx] ----

fn tk_bsd(t: f32["vocab d"], idx: i64["2 3"]) -> f32["2 3 d"] {
  return take(t, idx, "vocab d, b s -> b s d")
}
fn tk_dbs(t: f32["vocab d"], idx: i64["2 3"]) -> f32["d 2 3"] {
  return take(t, idx, "vocab d, b s -> d b s")
}
fn tk_stack(t: f32["2 vocab d"], idx: i64["2 3"]) -> f32["2 2 3 d"] {
  return take(t, idx, "l vocab d, b s -> l b s d")
}
fn tk_ell(t: f32["vocab d"], idx: i32["2 3 5"]) -> f32["2 3 5 d"] {
  return take(t, idx, "vocab d, ... -> ... d")
}
fn tk_u16(t: f32["vocab d"], idx: u16["6"]) -> f32["6 d"] {
  return take(t, idx, "v e, i -> i e")
}
fn tk_last(t: f32["d vocab"], idx: i64["5"]) -> f32["5 d"] {
  return take(t, idx, "e v, i -> i e")
}
fn tk_mid(t: f32["3 vocab d"], idx: i64["5"]) -> f32["d 5 3"] {
  return take(t, idx, "a v e, i -> e i a")
}
fn tk_1d(t: f32["vocab"], idx: i64["5"]) -> f32["5"] {
  return take(t, idx, "v, i -> i")
}
fn tk_rt(t: f32["vocab d"], idx: i64["batch seq"]) -> f32["batch seq d"] {
  return take(t, idx, "vocab d, b s -> b s d")
}
fn tk_i64_table(t: i64["vocab 3"], idx: i32["4"]) -> i64["4 3"] {
  return take(t, idx, "v e, i -> i e")
}
fn tk_bf16(t: bf16["vocab d"], idx: i64["4"]) -> bf16["4 d"] {
  return take(t, idx, "v e, i -> i e")
}
fn gx_emb(t: f32["vocab d"], idx: i64["2 3"]) -> f32["2 3 d"] {
  return t[idx]
}
fn gx_1d(t: f32["vocab"], idx: i32["5"]) -> f32["5"] {
  return t[idx]
}
fn gx_r3(t: f32["vocab 2 3"], idx: i64["4"]) -> f32["4 2 3"] {
  return t[idx]
}
fn gx_rt(t: f32["vocab d"], idx: i64["batch seq"]) -> f32["batch seq d"] {
  return t[idx]
}
fn gx_rt_table(t: f32["batch d"], idx: i64["5"]) -> f32["5 d"] {
  return t[idx]
}
fn gx_bool_table(t: bool["vocab 2"], idx: i64["3"]) -> bool["3 2"] {
  return t[idx]
}

# ---- static indexing ----

const k = 2

fn ix_first(x: f32["3 4 5"]) -> f32["4 5"] {
  return x[0]
}
fn ix_two(x: f32["3 4 5"]) -> f32["4 5"] {
  return x[2]
}
fn ix_const(x: f32["3 4 5"]) -> f32["4 5"] {
  return x[k]
}
fn ix_neg(x: f32["3 4 5"]) -> f32["4 5"] {
  return x[-1]
}
fn ix_neg3(x: f32["3 4 5"]) -> f32["4 5"] {
  return x[-3]
}
fn ix_chain(x: f32["3 4 5"]) -> f32["5"] {
  return x[1][-1]
}
fn ix_chain3(x: f32["3 4 5"]) -> f32 {
  return x[1][2][3]
}
fn ix_rt(x: f32["batch 4"]) -> f32["4"] {
  return x[1]
}
fn ix_of_view(x: f32["3 4 5"]) -> f32["4 3"] {
  return rearrange(x, "a b c -> c b a")[1]
}
fn ix_i64(x: i64["3 4"]) -> i64["4"] {
  return x[-2]
}
fn ix_sum(x: f32["3 4"]) -> f32["4"] {
  return x[0] + x[1] * x[2]
}

# ---- epilogues: a product's only reader adds a bias along the last axis
# and/or applies relu (plan_epilogue); on the GPU one call, cuBLASLt's
# epilogue where the product is cuBLAS's, the runtime's own pass otherwise ----

fn ep_bias(x: f32["batch 8"], w: f32["8 5"], b: f32["5"]) -> f32["batch 5"] {
  return x @ w + b
}
fn ep_bias_first(x: f32["batch 8"], w: f32["8 5"], b: f32["5"]) -> f32["batch 5"] {
  return b + x @ w
}
fn ep_relu(x: f32["batch 8"], w: f32["8 5"]) -> f32["batch 5"] {
  return relu(x @ w)
}
fn ep_relu_bias(x: f32["batch seq 8"], w: f32["8 5"], b: f32["5"]) -> f32["batch seq 5"] {
  return relu(x @ w + b)
}
fn ep_mlp(x: f32["batch 8"], w1: f32["8 16"], b1: f32["16"], w2: f32["16 3"], b2: f32["3"]) -> f32["batch 3"] {
  return relu(x @ w1 + b1) @ w2 + b2
}
fn ep_batched(x: f32["2 4 8"], w: f32["2 8 5"], b: f32["5"]) -> f32["2 4 5"] {
  return relu(einsum(x, w, "g i k, g k o -> g i o") + b)
}
fn ep_transposed(x: f32["8 6"], w: f32["8 5"], b: f32["5"]) -> f32["6 5"] {
  return einsum(x, w, "k i, k o -> i o") + b
}
fn ep_rows(x: f32["batch 8"], w: f32["8 5"], b: f32["batch"]) -> f32["batch 5"] {
  return x @ w + rearrange(b, "r -> r 1")
}
fn ep_f64(x: f64["batch 8"], w: f64["8 5"], b: f64["5"]) -> f64["batch 5"] {
  return relu(x @ w + b)
}
fn ep_large(x: f32["64 512"], w: f32["512 96"], b: f32["96"]) -> f32["64 96"] {
  return relu(x @ w + b)
}
fn ep_large_bias(x: f32["64 512"], w: f32["512 96"], b: f32["96"]) -> f32["64 96"] {
  return x @ w + b
}
fn ep_large_relu(x: f32["64 512"], w: f32["512 96"]) -> f32["64 96"] {
  return relu(x @ w)
}
fn ep_bf16(x: bf16["batch 16"], w: bf16["16 8"], b: bf16["8"]) -> bf16["batch 8"] {
  return relu(x @ w + b)
}
fn ep_large_bf16(x: bf16["64 512"], w: bf16["512 128"], b: bf16["128"]) -> bf16["64 128"] {
  return relu(x @ w + b)
}

# ---- loops ----

fn lp_layers(x: f32["2 d"], w: f32["3 d d"]) -> f32["2 d"] {
  for l in 0..3 {
    x = relu(x @ w[l])
  }
  return x
}
fn lp_accumulate(x: f32["5 3"]) -> f32["3"] {
  acc = zeros("3")
  for i in 0..5 {
    acc = acc + x[i] * i
  }
  return acc
}
fn lp_retype(x: f32["2 3"]) -> f32["3 2"] {
  for i in 0..3 {
    x = rearrange(x, "a b -> b a") + 1
  }
  return x
}
fn lp_empty(x: f32["3"]) -> f32["3"] {
  for i in 2..2 {
    x = x * 100
  }
  return x
}
fn lp_nested(x: f32["2 2"]) -> f32["2 2"] {
  for i in 0..2 {
    for j in 0..3 {
      x = x @ x * 0.5 + i - j
    }
  }
  return x
}
