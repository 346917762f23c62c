# Axes of size 1: in types, written in patterns as () or 1, and broadcasting.
dim batch
dim n = 4
fn f(x: f32["batch 1 n"], col: f32["n 1"], row: f32["1 n"]) -> f32["batch n"] {
  squeezed = rearrange(x, "b () n -> b n")
  also = rearrange(x, "b 1 n -> b n")
  expanded = rearrange(squeezed, "b n -> b 1 n 1")
  grid = col * row
  outer = col @ row
  inner = row @ col
  stretched = x + row
  return squeezed
}
