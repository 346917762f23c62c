# einsum takes no sizes by keyword: a group whose sizes no operand binds
# cannot be split.
dim n = 4
fn f(x: f32["n 32"]) -> f32["n 32"] {
  y = einsum(x, "s (h d) -> s h d")
  return x
}
