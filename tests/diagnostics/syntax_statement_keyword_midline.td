# A statement keyword after an unfinished line ends that line.
dim n = 4
fn f(x: f32["n"]) -> f32["n"] {
  y = max(x, 0 return y
}
