# A const must be one value known when the program is checked.
dim n = 4
param w: f32["n"] = zeros()
fn two(x: f32) -> (f32, f32) {
  return x, x
}
const table = zeros("n")
const weight = w
const pair = two(1.0)
const name = "ok"
