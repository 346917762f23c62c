# einops operations take the tensor, the pattern and the reduction by
# position: a keyword is always the size of an axis.
dim n = 4
fn f(x: f32["n n"]) -> f32["n n"] {
  a = reduce(x, "a b -> a", reduction = "mean")
  b = rearrange(x, pattern = "a b -> b a")
  return x
}
