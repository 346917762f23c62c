# Unrolled loops and inlined calls are limited to 20 million statements.
fn f(x: f32) -> f32 {
  for i in 0..65536 {
    for j in 0..65536 {
      a = 1
    }
  }
  return x
}
