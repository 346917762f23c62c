# Float-only functions reject integer tensors; u16 cannot be negated.
dim n = 4
fn f(i: i32["n"], u: u16["n"], x: f32["n"]) -> f32["n"] {
  a = sqrt(i)
  b = tanh(u)
  c = -u
  d = -i
  e = log(i as f32)
  return x
}
