# A train block: the step's forward and backward passes, and grad() in a function.
dim batch
dim d = 8

param w: f32["d d"] = normal(std = 0.3)
param b: f32["d"] = zeros()

fn predict(x: f32["batch d"]) -> f32["batch d"] {
  return tanh(x @ w + b)
}

fn input_gradient(x: f32["batch d"], y: f32["batch d"]) -> f32["batch d"] {
  loss = reduce((predict(x) - y) ** 2, "b d ->", "mean")
  return grad(loss, x)
}

train step(x: f32["batch d"], y: f32["batch d"]) {
  loss = reduce((predict(x) - y) ** 2, "b d ->", "mean")
  minimize loss with sgd(lr = 0.1, momentum = 0.9, clip = 1.0)
}
