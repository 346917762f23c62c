# Loop bounds are integers known at compile time; loops unroll at most 65536 times.
dim n = 4
dim batch
fn f(x: f32["n"]) -> f32["n"] {
  for i in 0..2.5 {
    x = x * 2
  }
  for j in x..3 {
    x = x * 2
  }
  for k in 0..batch {
    x = x * 2
  }
  for l in 0..100000 {
    x = x * 2
  }
  for m in 0.."three" {
    x = x * 2
  }
  return x
}
