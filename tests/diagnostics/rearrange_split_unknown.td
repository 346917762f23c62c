# A group can have at most one axis of unknown size.
dim n = 12
fn f(x: f32["n 5"]) -> f32["n 5"] {
  a = rearrange(x, "(h d) c -> h d c")
  b = rearrange(x, "(h w d) c -> h w d c", h = 2)
  return x
}
