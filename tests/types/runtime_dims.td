# Dims bound when the program starts stay symbolic in every type.
dim batch
dim seq
dim model = 8
dim tokens = batch * seq
dim twice = 2 * seq
param w: f32["model model"] = normal(std = 0.1)
fn f(x: f32["batch seq model"]) -> f32["tokens model"] {
  flat = rearrange(x, "b s m -> (b s) m")
  doubled = repeat(x, "b s m -> b (s two) m", two = 2)
  pairs = rearrange(doubled, "b s2 m -> b s2 m")
  stacked = repeat(x, "b s m -> (b s) k m", k = seq)
  projected = flat @ w
  return projected
}
fn g(y: f32["batch twice"]) -> f32["batch twice"] {
  return y * 2
}
