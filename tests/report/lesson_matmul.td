# The lesson's matmul: (B, D) @ (D, K) costs 2·B·D·K FLOPs forward and
# 4·B·D·K backward (one contraction for each operand's gradient).
dim b = 16384
dim d = 32768
dim k = 8192

fn matmul_grad(x: bf16["b d"], w: bf16["d k"]) -> (f32, f32["b d"], f32["d k"]) {
  loss = reduce((x @ w) as f32, "b k ->", "sum")
  gx, gw = grad(loss, x, w)
  return loss, gx, gw
}
