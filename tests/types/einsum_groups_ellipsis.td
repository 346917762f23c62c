# einsum also takes groups and '...', which broadcast across operands.
dim batch
dim heads = 4
dim head = 8
dim model = 32
fn f(x: f32["batch 2 model"], w: f32["model model"], y: f32["2 heads head"], z: f32["batch 1 7 heads"]) -> f32["batch 2 model"] {
  proj = einsum(x, w, "... i, i o -> ... o")
  merge = einsum(y, "s h d -> s (h d)")
  split = einsum(y, x, "s h d, ... s (h d) -> ... s h")
  broadcast = einsum(z, y, "... h, s h d -> ... s d")
  flat = einsum(x, "... -> (...)")
  scalar_dots = einsum(x, x, "... i, ... i -> ...")
  return proj
}
