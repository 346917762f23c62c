# Derived run-time dims and the checks they need.
dim tokens
dim batch = tokens / seq
dim seq
dim model = 12
dim heads = 3
dim head = model / heads
dim groups = seq / heads
fn f(x: f32["tokens model"]) -> f32["batch seq heads head"] {
  return rearrange(x, "(b s) (h d) -> b s h d", s = seq, h = heads)
}
fn g(x: f32["batch seq"]) -> f32["batch groups heads"] {
  return rearrange(x, "b (g h) -> b g h", h = heads)
}
