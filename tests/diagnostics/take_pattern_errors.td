# take indexes along exactly one table axis, which the output leaves out.
dim vocab = 100
dim d = 8
dim batch
param emb: f32["vocab d"] = zeros()
fn f(tok: i64["batch"]) -> f32["batch d"] {
  a = take(emb, tok, "v d, v -> v d")
  b = take(emb, tok, "v d, b -> b")
  c = take(emb, tok, "v d, b -> d")
  e = take(emb, tok, "v d, b -> b v d")
  g = take(emb, tok, "... v d, b -> b d")
  h = take(emb, tok, "(v e) d, b -> b e d")
  return take(emb, tok, "v d, b -> b d")
}
