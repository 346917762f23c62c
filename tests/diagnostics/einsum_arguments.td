# einsum takes tensors, then a pattern, all by position.
dim n = 4
fn f(a: f32["n n"], m: bool["n n"], h: bf16["n n"]) -> f32["n n"] {
  b = einsum(a, pattern = "i j -> j i")
  c = einsum("i j -> j i")
  d = einsum(a, a)
  e = einsum("a", a, "i, i j -> j")
  g = einsum(m, a, "i j, j k -> i k")
  k = einsum(a, h, "i j, j k -> i k")
  l = einsum(a, a, "i j, j k k -> i k")
  return a
}
