# Functions with several results, unpacked at the call.
dim n = 4
dim m = 6
fn split_half(x: f32["m"]) -> (f32["3"], f32["3"]) {
  parts = rearrange(x, "(two h) -> two h", two = 2)
  return parts[0], parts[1]
}
fn stats(x: f32["... k"]) -> (f32["..."], f32["..."], f32["..."]) {
  return reduce(x, "... k -> ...", "mean"), reduce(x, "... k -> ...", "min"), reduce(x, "... k -> ...", "max")
}
fn g(x: f32["m"], y: f32["n m"]) -> f32["3"] {
  lo, hi = split_half(x)
  mean, low, high = stats(y)
  a, b, c = stats(x)
  return lo + hi
}
