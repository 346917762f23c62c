# A tensor's size in bytes must fit in 63 bits.
dim big = 4294967296
param w: f32["big big"] = zeros()
fn f(x: f32["4"]) -> f32["4"] {
  y = zeros("big big")
  return x
}
