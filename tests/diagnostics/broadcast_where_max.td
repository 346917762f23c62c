# where and max broadcast their operands too.
dim n = 4
dim m = 3
fn f(c: bool["n"], a: f32["m"], b: f32["n"]) -> f32["n"] {
  x = where(c, a, b)
  y = max(a, b)
  z = min(b, a)
  return b
}
