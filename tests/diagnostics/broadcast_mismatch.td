# numpy broadcasting: axes aligned from the right must be equal or 1.
dim batch
dim seq
dim model = 64
fn f(x: f32["batch seq model"], bias: f32["seq"], scale: f32["model 1"]) -> f32["batch seq model"] {
  a = x + bias
  b = x * scale
  return x
}
