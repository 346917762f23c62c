# Numeric tests: rearrange, reduce and repeat, compiled and run against
# einops and numpy (tests/numeric/cases.py). Each exported function is one
# pattern; run-time dims are bound from the inputs' shapes.
dim batch
dim seq

# ---- rearrange: ranks 1 to 6, groups, `...`, unit axes ----

fn re_r1_split(x: f32["12"]) -> f32["3 4"] {
  return rearrange(x, "(a b) -> a b", a = 3)
}
fn re_r1_split_t(x: f32["12"]) -> f32["4 3"] {
  return rearrange(x, "(a b) -> b a", a = 3)
}
fn re_r2_t(x: f32["3 5"]) -> f32["5 3"] {
  return rearrange(x, "a b -> b a")
}
fn re_r2_merge(x: f32["3 5"]) -> f32["15"] {
  return rearrange(x, "a b -> (a b)")
}
fn re_r2_merge_t(x: f32["3 5"]) -> f32["15"] {
  return rearrange(x, "a b -> (b a)")
}
fn re_r3_perm(x: f32["2 3 4"]) -> f32["4 2 3"] {
  return rearrange(x, "a b c -> c a b")
}
fn re_r3_groups(x: f32["2 6 5"]) -> f32["10 2 3"] {
  return rearrange(x, "a (b c) d -> (d b) a c", b = 2)
}
fn re_r4_nchw(x: f32["2 3 4 5"]) -> f32["2 5 3 4"] {
  return rearrange(x, "b h w c -> b c h w")
}
fn re_r4_patch(x: f32["2 4 6 3"]) -> f32["2 6 12"] {
  return rearrange(x, "b (h p1) (w p2) c -> b (h w) (p1 p2 c)", p1 = 2, p2 = 2)
}
fn re_r4_unpatch(x: f32["2 6 12"]) -> f32["2 4 6 3"] {
  return rearrange(x, "b (h w) (p1 p2 c) -> b (h p1) (w p2) c", h = 2, p1 = 2, p2 = 2)
}
fn re_r5(x: f32["2 3 4 5 6"]) -> f32["6 8 5 3"] {
  return rearrange(x, "a b c d e -> e (c a) d b")
}
fn re_r6_rev(x: f32["2 3 2 3 2 3"]) -> f32["3 2 3 2 3 2"] {
  return rearrange(x, "a b c d e f -> f e d c b a")
}
fn re_r6_merge(x: f32["2 3 2 3 2 3"]) -> f32["8 27"] {
  return rearrange(x, "a b c d e f -> (a c e) (b d f)")
}
fn re_r2_to_r6(x: f32["12 30"]) -> f32["2 2 3 3 2 5"] {
  return rearrange(x, "(a b c) (d e f) -> a d b e c f", a = 2, b = 3, d = 2, e = 3)
}
fn re_ell_split(x: f32["2 3 8"]) -> f32["2 3 2 4"] {
  return rearrange(x, "... (h d) -> ... h d", h = 2)
}
fn re_ell_merge(x: f32["2 3 2 4"]) -> f32["2 3 8"] {
  return rearrange(x, "... h d -> ... (h d)")
}
fn re_ell_front(x: f32["2 3 4 5"]) -> f32["3 4 5 2"] {
  return rearrange(x, "b ... -> ... b")
}
fn re_ell_flatten(x: f32["2 3 4 5"]) -> f32["2 60"] {
  return rearrange(x, "b ... -> b (...)")
}
fn re_ell_mid(x: f32["2 3 4 5"]) -> f32["5 3 4 2"] {
  return rearrange(x, "a ... b -> b ... a")
}
fn re_ell_empty(x: f32["2 3"]) -> f32["3 2"] {
  return rearrange(x, "a ... b -> b ... a")
}
fn re_ell_all(x: f32["2 3 4"]) -> f32["2 3 4"] {
  return rearrange(x, "... -> ...")
}
fn re_ell_r6(x: f32["2 3 2 3 2 3"]) -> f32["3 3 2 3 2 2"] {
  return rearrange(x, "a ... f -> f ... a")
}
fn re_ell_r6_flat(x: f32["2 3 2 3 2 3"]) -> f32["3 2 36"] {
  return rearrange(x, "a b ... -> b a (...)")
}
fn re_unit_drop(x: f32["3 1 4"]) -> f32["4 3"] {
  return rearrange(x, "a 1 b -> b a")
}
fn re_unit_add(x: f32["3 4"]) -> f32["3 1 4 1"] {
  return rearrange(x, "a b -> a 1 b 1")
}
fn re_unit_paren(x: f32["3 1 4"]) -> f32["12"] {
  return rearrange(x, "a () b -> (a b)")
}
fn re_unit_paren_add(x: f32["3 4"]) -> f32["1 4 1 3"] {
  return rearrange(x, "a b -> () b () a")
}
fn re_unit_group(x: f32["3 4"]) -> f32["12 1"] {
  return rearrange(x, "a b -> (b a) 1")
}
fn re_chain(x: f32["4 6"]) -> f32["3 8"] {
  y = rearrange(x, "a b -> b a")
  return rearrange(y, "(b1 b2) a -> b1 (b2 a)", b1 = 3)
}
fn re_then_add(x: f32["3 4"], y: f32["4 3"]) -> f32["4 3"] {
  return rearrange(x, "a b -> b a") + y
}
fn re_rt_t(x: f32["batch seq 4"]) -> f32["4 seq batch"] {
  return rearrange(x, "b s h -> h s b")
}
fn re_rt_merge(x: f32["batch seq 4"]) -> f32["batch*seq 4"] {
  return rearrange(x, "b s h -> (b s) h")
}
fn re_rt_merge_t(x: f32["batch seq 4"]) -> f32["4 seq*batch"] {
  return rearrange(x, "b s h -> h (s b)")
}
fn re_rt_split(x: f32["batch 12"]) -> f32["batch 3 4"] {
  return rearrange(x, "b (h d) -> b h d", h = 3)
}
fn re_rt_split_rt(x: f32["batch*seq 3"]) -> f32["seq batch 3"] {
  return rearrange(x, "(b s) d -> s b d", b = batch)
}
fn re_i32(x: i32["3 4"]) -> i32["4 3"] {
  return rearrange(x, "a b -> b a")
}
fn re_i64(x: i64["2 3 4"]) -> i64["3 8"] {
  return rearrange(x, "a b c -> b (a c)")
}
fn re_bool(x: bool["2 3 4"]) -> bool["4 6"] {
  return rearrange(x, "a b c -> c (a b)")
}
fn re_f64(x: f64["2 3 4"]) -> f64["4 3 2"] {
  return rearrange(x, "a b c -> c b a")
}
fn re_bf16(x: bf16["2 3 4"]) -> bf16["3 8"] {
  return rearrange(x, "a b c -> b (c a)")
}

# ---- reduce: sum mean max min prod, groups, `...`, unit axes ----

fn rd_sum(x: f32["3 4 5"]) -> f32["3 5"] {
  return reduce(x, "a b c -> a c", "sum")
}
fn rd_mean(x: f32["3 4 5"]) -> f32["5"] {
  return reduce(x, "a b c -> c", "mean")
}
fn rd_max(x: f32["3 4 5"]) -> f32["4"] {
  return reduce(x, "a b c -> b", "max")
}
fn rd_min(x: f32["3 4 5"]) -> f32["3 4"] {
  return reduce(x, "a b c -> a b", "min")
}
fn rd_prod(x: f32["3 4 5"]) -> f32["3"] {
  return reduce(x, "a b c -> a", "prod")
}
fn rd_all_sum(x: f32["3 4 5"]) -> f32 {
  return reduce(x, "a b c ->", "sum")
}
fn rd_all_mean(x: f32["3 4 5"]) -> f32 {
  return reduce(x, "a b c ->", "mean")
}
fn rd_all_max(x: f32["7"]) -> f32 {
  return reduce(x, "a ->", "max")
}
fn rd_all_prod(x: f32["2 3"]) -> f32 {
  return reduce(x, "a b ->", "prod")
}
fn rd_transposed(x: f32["3 4 5"]) -> f32["5 3"] {
  return reduce(x, "a b c -> c a", "sum")
}
fn rd_group_mean(x: f32["3 8"]) -> f32["3 4"] {
  return reduce(x, "a (b k) -> a b", "mean", k = 2)
}
fn rd_group_inner(x: f32["3 8"]) -> f32["3 2"] {
  return reduce(x, "a (k b) -> a b", "max", k = 4)
}
fn rd_group_out(x: f32["2 3 4"]) -> f32["6"] {
  return reduce(x, "a b c -> (a b)", "max")
}
fn rd_group_out_t(x: f32["2 3 4"]) -> f32["8"] {
  return reduce(x, "a b c -> (c a)", "min")
}
fn rd_pool(x: f32["2 4 6 3"]) -> f32["2 2 3 3"] {
  return reduce(x, "b (h h2) (w w2) c -> b h w c", "max", h2 = 2, w2 = 2)
}
fn rd_ell(x: f32["2 3 4 5"]) -> f32["2 3 4"] {
  return reduce(x, "... h -> ...", "sum")
}
fn rd_ell_front(x: f32["2 3 4 5"]) -> f32["2"] {
  return reduce(x, "b ... -> b", "mean")
}
fn rd_ell_keep(x: f32["2 3 4 5"]) -> f32["3 4"] {
  return reduce(x, "a ... b -> ...", "min")
}
fn rd_ell_all(x: f32["2 3 4"]) -> f32 {
  return reduce(x, "... -> ", "sum")
}
fn rd_unit_keep(x: f32["3 4 5"]) -> f32["3 1 5"] {
  return reduce(x, "a b c -> a () c", "max")
}
fn rd_unit_keep1(x: f32["3 4 5"]) -> f32["1 4 1"] {
  return reduce(x, "a b c -> 1 b 1", "sum")
}
fn rd_anon(x: f32["3 2 5"]) -> f32["3 5"] {
  return reduce(x, "a 2 c -> a c", "sum")
}
fn rd_unit_in(x: f32["3 1 5"]) -> f32["3"] {
  return reduce(x, "a 1 c -> a", "prod")
}
fn rd_r5(x: f32["2 3 4 5 2"]) -> f32["2 4"] {
  return reduce(x, "a b c d e -> e c", "sum")
}
fn rd_r6(x: f32["2 3 2 3 2 2"]) -> f32["4 2"] {
  return reduce(x, "a b c d e f -> (a c) f", "min")
}
fn rd_r6_mean(x: f32["2 3 2 3 2 2"]) -> f32["3 3"] {
  return reduce(x, "a b c d e f -> d b", "mean")
}
fn rd_big(x: f32["64 300"]) -> f32["64"] {
  return reduce(x, "a b -> a", "sum")
}
fn rd_big_cols(x: f32["300 64"]) -> f32["64"] {
  return reduce(x, "a b -> b", "mean")
}
fn rd_rt(x: f32["batch seq 4"]) -> f32["seq"] {
  return reduce(x, "b s h -> s", "mean")
}
fn rd_rt_max(x: f32["batch seq 4"]) -> f32["batch 4"] {
  return reduce(x, "b s h -> b h", "max")
}
fn rd_i32_sum(x: i32["3 4"]) -> i32["3"] {
  return reduce(x, "a b -> a", "sum")
}
fn rd_i32_min(x: i32["3 4"]) -> i32["4"] {
  return reduce(x, "a b -> b", "min")
}
fn rd_i64_max(x: i64["3 4"]) -> i64["3"] {
  return reduce(x, "a b -> a", "max")
}
fn rd_i64_prod(x: i64["3 4"]) -> i64["4"] {
  return reduce(x, "a b -> b", "prod")
}
fn rd_u16_sum(x: u16["3 4"]) -> u16["3"] {
  return reduce(x, "a b -> a", "sum")
}
fn rd_bool_sum(x: bool["3 4"]) -> i64["3"] {
  return reduce(x, "a b -> a", "sum")
}
fn rd_bool_prod(x: bool["3 4"]) -> i64["4"] {
  return reduce(x, "a b -> b", "prod")
}
fn rd_bool_max(x: bool["3 4"]) -> bool["3"] {
  return reduce(x, "a b -> a", "max")
}
fn rd_f64_mean(x: f64["3 4 5"]) -> f64["4"] {
  return reduce(x, "a b c -> b", "mean")
}
fn rd_f64_sum(x: f64["3 4 5"]) -> f64 {
  return reduce(x, "a b c ->", "sum")
}
fn rd_f64_prod(x: f64["3 4"]) -> f64["3"] {
  return reduce(x, "a b -> a", "prod")
}
fn rd_bf16_sum(x: bf16["4 16"]) -> bf16["4"] {
  return reduce(x, "a b -> a", "sum")
}
fn rd_bf16_max(x: bf16["4 16"]) -> bf16["16"] {
  return reduce(x, "a b -> b", "max")
}
fn rd_f16_mean(x: f16["4 16"]) -> f16["4"] {
  return reduce(x, "a b -> a", "mean")
}

# ---- repeat: new axes by keyword or anonymous, groups, `...`, unit axes ----

fn rp_r1(x: f32["3"]) -> f32["3 4"] {
  return repeat(x, "a -> a k", k = 4)
}
fn rp_r1_front(x: f32["3"]) -> f32["4 3"] {
  return repeat(x, "a -> k a", k = 4)
}
fn rp_tile(x: f32["2 3"]) -> f32["2 6"] {
  return repeat(x, "a b -> a (k b)", k = 2)
}
fn rp_interleave(x: f32["2 3"]) -> f32["2 6"] {
  return repeat(x, "a b -> a (b k)", k = 2)
}
fn rp_anon(x: f32["2 3"]) -> f32["2 3 3"] {
  return repeat(x, "a b -> a 3 b")
}
fn rp_anon_group(x: f32["2 3"]) -> f32["4 3"] {
  return repeat(x, "a b -> (2 a) b")
}
fn rp_anon_front(x: f32["2 3"]) -> f32["5 2 3"] {
  return repeat(x, "a b -> 5 a b")
}
fn rp_ell(x: f32["2 3 4"]) -> f32["2 3 5 4"] {
  return repeat(x, "... c -> ... k c", k = 5)
}
fn rp_ell_front(x: f32["2 3 4"]) -> f32["2 2 3 4"] {
  return repeat(x, "... -> k ...", k = 2)
}
fn rp_unit(x: f32["2 1 3"]) -> f32["2 4 3"] {
  return repeat(x, "a 1 b -> a k b", k = 4)
}
fn rp_unit_paren(x: f32["2 1 3"]) -> f32["3 2 2"] {
  return repeat(x, "a () b -> b a k", k = 2)
}
fn rp_unit_out(x: f32["2 3"]) -> f32["2 1 3 2"] {
  return repeat(x, "a b -> a 1 b k", k = 2)
}
fn rp_r6(x: f32["2 3"]) -> f32["2 2 3 3 2 2"] {
  return repeat(x, "a b -> a k b l m n", k = 2, l = 3, m = 2, n = 2)
}
fn rp_r4_perm(x: f32["2 3 4"]) -> f32["4 2 2 3"] {
  return repeat(x, "a b c -> c k a b", k = 2)
}
fn rp_group_perm(x: f32["2 3"]) -> f32["3 8"] {
  return repeat(x, "a b -> b (k a l)", k = 2, l = 2)
}
fn rp_scalar(x: f32) -> f32["5"] {
  return repeat(x, " -> k", k = 5)
}
fn rp_rt(x: f32["batch 3"]) -> f32["batch 2 3"] {
  return repeat(x, "b n -> b k n", k = 2)
}
fn rp_rt_size(x: f32["batch 3"]) -> f32["batch 3 batch"] {
  return repeat(x, "b n -> b n k", k = batch)
}
fn rp_i64(x: i64["3"]) -> i64["2 3"] {
  return repeat(x, "a -> k a", k = 2)
}
fn rp_bool(x: bool["2 3"]) -> bool["2 3 2"] {
  return repeat(x, "a b -> a b k", k = 2)
}
fn rp_then_reduce(x: f32["2 3"]) -> f32["2 3"] {
  return reduce(repeat(x, "a b -> a b k", k = 4), "a b k -> a b", "mean")
}
