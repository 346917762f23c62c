# A misspelt call of a function the program declares gets a suggestion.
dim n = 4
fn project(x: f32["n"]) -> f32["n"] {
  return x * 2
}
fn g(x: f32["n"]) -> f32["n"] {
  return projct(x)
}
