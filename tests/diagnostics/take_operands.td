# take's table is a tensor and its indices an integer tensor.
dim vocab = 100
dim d = 8
dim batch
param emb: f32["vocab d"] = zeros()
fn f(x: f32["batch"], tok: i64["batch"], small: i64["batch 2"]) -> f32["batch d"] {
  a = take(emb, x, "v d, b -> b d")
  b = take(emb, 3, "v d, b -> b d")
  c = take("emb", tok, "v d, b -> b d")
  e = take(emb, small, "v d, b -> b d")
  g = take(emb, tok, "v d, b -> b d", extra = 1)
  h = take(emb, tok, "v d, b, c -> b d")
  return take(emb, tok, "v d, b -> b d")
}
