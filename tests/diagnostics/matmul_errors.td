# '@' follows numpy's matmul: the last axis of the left meets the
# second-to-last (or only) axis of the right; batch axes broadcast.
dim n = 4
dim k = 5
fn f(a: f32["n k"], b: f32["n k"], v: f32["n"], s: f32, p: f32["2 n k"], q: f32["3 k n"]) -> f32["n"] {
  x = a @ b
  y = a @ v
  z = a @ s
  w = s @ a
  t = p @ q
  return v
}
