# An unclosed '(' is reported at the end of its statement; checking goes on.
dim n = 4
fn f(x: f32["n"]) -> f32["n"] {
  y = exp((x + 1)
  return y * 2
}
param w: f32["n k"] = zeros()
