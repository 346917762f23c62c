# numpy broadcasting: axes align from the right; size-1 axes and missing
# leading axes stretch.
dim batch
dim seq
dim model = 8
fn f(x: f32["batch seq model"], bias: f32["model"], gate: f32["seq 1"], one: f32["1 1 model"], s: f32) -> f32["batch seq model"] {
  a = x + bias
  b = x * gate
  c = x - one
  d = x / s
  e = bias * gate
  g = gate + one
  h = x * 2
  k = bias + s
  return a + b + c + d
}
