# '@' follows numpy's matmul: 1-D operands gain and lose an axis; batch
# axes broadcast.
dim n = 3
dim k = 4
dim m = 5
dim batch
fn f(a: f32["n k"], b: f32["k m"], v: f32["k"], u: f32["n"], p: f32["batch n k"], q: f32["2 1 k m"], r: f32["batch k m"]) -> f32["n m"] {
  mm = a @ b
  mv = a @ v
  vm = u @ a
  dot = v @ v
  batched = p @ b
  batched_both = p @ r
  broadcast = p @ q
  batched_vec = p @ v
  vec_batched = v @ r
  return mm
}
