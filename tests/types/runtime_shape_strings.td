# A run-time size in a param's type, a train input's type or a constructor's
# shape must be whole when the dims are bound.
dim batch
param w: f32["batch/5"] = zeros()
fn f(x: f32["batch"]) -> f32["batch"] {
  block = zeros("batch/3")
  return x
}
train step(y: f32["batch/7 2"]) {
  minimize reduce(y, "b t ->", "sum") with sgd()
}
