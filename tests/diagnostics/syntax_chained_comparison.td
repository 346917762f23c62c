# Comparisons do not chain.
dim n = 4
fn f(x: f32["n"]) -> bool["n"] {
  return 0 < x < 1
}
