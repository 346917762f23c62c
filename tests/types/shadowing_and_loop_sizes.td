# Function parameters may shadow globals and be re-bound; loop variables and
# consts give sizes and indices; take's indices may use '...'.
dim batch
dim half = batch / 2
dim heads = 4
const layers = 3
param w: f32["layers 8 8"] = zeros()
fn f(x: f32["half*2 8"], t: i64["batch 5"]) -> f32["batch 8"] {
  for l in 0..2 {
    y = rearrange(x, "b (a c) -> b a c", a = l + 1)
  }
  last = w[layers - 1]
  r = repeat(x, "b d -> b (k d)", k = heads * 2)
  e = take(w[0], t, "v d, ... -> ... d")
  return x
}
fn g(batch: f32["4"], w: f32["4"]) -> f32["4"] {
  w = w * 2
  return batch + w
}
