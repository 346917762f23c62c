# A standard library function called without importing its file: the error
# says which file to import.
dim n = 4
fn f(x: f32["n"]) -> f32["n"] {
  return softmax(x) + layer_norm(x, x, x)
}
