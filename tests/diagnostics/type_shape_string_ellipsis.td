# '...' is for the parameter and result types of functions, once per shape.
dim n = 4
param w: f32["... n"] = zeros()
fn f(x: f32["... n ..."]) -> f32["n"] {
  return reduce(x, "... n -> n", "sum")
}
fn g(x: f32["n.. n"]) -> f32["n"] {
  return x
}
train step(x: f32["... n"]) {
  minimize reduce(x, "... n ->", "sum") with sgd()
}
