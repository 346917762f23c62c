# Looking up rows: take with a pattern, indexing with a tensor of indices,
# and static indices (negative ones count from the end).
dim vocab = 100
dim d = 16
dim batch
dim seq
const layers = 3
param emb: f32["vocab d"] = normal(std = 0.02)
param w: f32["layers d d"] = normal(std = 0.02)
fn f(tok: i64["batch seq"], pos: i32["seq"], one: u16["batch"]) -> f32["batch seq d"] {
  looked_up = take(emb, tok, "v d, b s -> b s d")
  by_position = take(emb, pos, "v d, s -> s d")
  transposed = take(emb, tok, "v d, b s -> d b s")
  small = take(emb, one, "v d, b -> b d")
  indexed = emb[tok]
  indexed_vector = emb[pos]
  first = w[0]
  last = w[-1]
  middle = w[1][2]
  element = w[0][1][2]
  row = emb[tok][1]
  return looked_up + indexed
}
