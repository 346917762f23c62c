# Comparisons give bool tensors; where picks between two broadcast operands.
dim n = 4
dim m = 3
fn f(x: f32["n m"], y: f32["m"], i: i64["n"]) -> f32["n m"] {
  gt = x > y
  le = x <= 0
  eq = i == 2
  ne = i != rearrange(i, "a -> a")
  ge = y >= 0.5
  lt = 1 < y
  picked = where(gt, x, y)
  clipped = where(x < 0, 0, x)
  ints = where(eq, i, 0)
  masked = where(le, -1e9, x)
  both = where(gt, 1, 2)
  return picked
}
