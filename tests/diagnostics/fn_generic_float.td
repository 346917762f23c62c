# Misuses of `float` (any float dtype).
dim n = 4
param w: float["n"] = zeros()                       # not in a param
fn mix(a: float["n"], b: float["n"]) -> float["n"] {
  return a + b
}
fn made_up() -> float["n"] {                        # no parameter says which float
  return zeros("n")
}
fn g(x: f32["n"], y: bf16["n"], i: i32["n"]) -> f32["n"] {
  u = mix(x, y)                                     # 'float' is f32 here, from argument 1
  v = mix(i, x)                                     # an integer tensor is no float
  return u
}
train t(x: float["n"]) {
  minimize reduce(x, "n ->", "sum") with sgd()
}
