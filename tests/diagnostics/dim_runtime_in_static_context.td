# A dim bound at run time is not known when loops are unrolled.
dim batch
param w: f32["3 4"] = zeros()
fn f(x: f32["batch 4"]) -> f32["batch 4"] {
  for i in 0..batch {
    x = x * 2
  }
  return x
}
