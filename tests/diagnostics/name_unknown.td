# Unknown names and functions, with a suggestion when one is close.
dim hidden = 8
param weight: f32["hidden"] = zeros()
fn f(x: f32["hidden"]) -> f32["hidden"] {
  a = x * wieght
  b = x + hiden
  c = x + completely_unknown
  d = softmaks(x)
  e = frobnicate(x)
  s = sum(x)
  return x
}
