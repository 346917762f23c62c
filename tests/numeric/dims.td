# Numeric tests of run-time and derived dims: sizes such as 2*batch bind
# batch from an input's extent, derived dims (batch/2, batch*seq) are
# computed, and dims that no input fixes come from --dims (cases.py).
dim batch
dim seq
dim half = batch / 2
dim tokens = batch * seq
dim pairs = 2 * seq

fn dm_double(x: f32["2*batch 3"]) -> f32["batch 2 3"] {
  return rearrange(x, "(b two) d -> b two d", two = 2)
}
fn dm_halves(x: f32["batch 3"]) -> f32["2 half 3"] {
  return rearrange(x, "(two h) d -> two h d", two = 2)
}
fn dm_flat(x: f32["batch seq"]) -> f32["tokens"] {
  return rearrange(x, "b s -> (b s)")
}
fn dm_unflat(x: f32["tokens"], y: f32["batch"]) -> f32["seq batch"] {
  return rearrange(x, "(b s) -> s b", b = batch) + y
}
fn dm_half_in(x: f32["half 3"]) -> f32["3"] {
  return x[0] * 2
}
fn dm_pairs(x: f32["seq 2"]) -> f32["pairs"] {
  return rearrange(x, "s t -> (s t)")
}
fn dm_mix(x: f32["batch seq"], y: f32["half 2 seq"]) -> f32["batch seq"] {
  return x + rearrange(y, "h t s -> (h t) s")
}
fn tr(x: f32["a b"]) -> f32["b a"] {
  return rearrange(x, "a b -> b a")
}
fn dm_sizevar(x: f32["batch seq"]) -> f32["seq batch"] {
  return tr(x) * seq + batch
}
fn dm_loop(x: f32["batch seq"]) -> f32["batch seq"] {
  for i in 0..3 {
    x = x * 2 + x[1]
  }
  return x
}
fn dm_repeat(x: f32["seq"]) -> f32["seq batch"] {
  return repeat(x, "s -> s b", b = batch)
}
fn dm_arange() -> i64["tokens"] {
  return arange("tokens") + half
}
fn dm_mean_rt(x: f32["batch seq"]) -> f32["seq"] {
  return reduce(x, "b s -> s", "sum") / batch
}
