# A train block ends with one 'minimize' of a floating-point scalar loss.
dim batch
dim d = 8
param w: f32["d"] = zeros()
train no_loss(x: f32["batch d"]) {
  y = x * w
}
train vector_loss(x: f32["batch d"]) {
  minimize x * w with sgd(lr = 0.1)
}
train int_loss(x: i64["batch d"]) {
  minimize reduce(x, "b d ->", "sum") with sgd(lr = 0.1)
}
train twice(x: f32["batch d"]) {
  minimize reduce(x * w, "b d ->", "sum") with sgd(lr = 0.1)
  minimize reduce(x * w, "b d ->", "mean") with sgd(lr = 0.1)
}
train looped(x: f32["batch d"]) {
  for i in 0..1 {
    minimize reduce(x * w, "b d ->", "sum") with sgd(lr = 0.1)
  }
}
fn f(x: f32["d"]) -> f32["d"] {
  minimize reduce(x, "d ->", "sum") with sgd()
  return x
}
