# The lesson's CPU matmul: (B, D) @ (D, K) in f32.
dim b = 1024
dim d = 256
dim k = 64

fn matmul(x: f32["b d"], w: f32["d k"]) -> f32["b k"] {
  return x @ w
}
