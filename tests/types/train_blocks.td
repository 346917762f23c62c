# Train blocks: with or without inputs, calling functions, ending with minimize.
dim batch
dim d = 8
param w: f32["d 1"] = normal(std = 0.1)
param b: f32["1"] = zeros()
fn predict(x: f32["batch d"]) -> f32["batch"] {
  return rearrange(x @ w + b, "b 1 -> b")
}
train fit(x: f32["batch d"], y: f32["batch"]) {
  err = predict(x) - y
  loss = reduce(err ** 2, "b ->", "mean")
  minimize loss with adam(lr = 1e-3)
}
train synthetic {
  x = randn("batch d")
  y = reduce(x, "b d -> b", "sum")
  minimize reduce((predict(x) - y) ** 2, "b ->", "mean") with sgd(lr = 0.01)
}
train half_precision(x: bf16["batch d"]) {
  loss = reduce(x as f32 @ w, "b one ->", "sum")
  minimize loss with sgd()
}
