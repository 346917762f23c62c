# Splitting a run-time axis leaves a quotient whose divisibility is checked
# when the program runs.
dim batch
dim seq
dim heads = 4
fn f(x: f32["batch seq"]) -> f32["batch seq"] {
  chunks = rearrange(x, "b (c s) -> b c s", s = 8)
  per_head = rearrange(x, "(h b) s -> h b s", h = heads)
  pooled = reduce(x, "b (s w) -> b s", "mean", w = 3)
  by_seq = rearrange(x, "(b s) t -> b s t", s = seq)
  return x
}
