# The lesson's deep linear model: `layers` square layers, then hidden -> 1.
dim batch                       # bound when the program starts
dim hidden = 64
const layers = 2

param w: f32["layers hidden hidden"] = normal(std = 1 / sqrt(hidden))
param final: f32["hidden 1"] = normal(std = 1 / sqrt(hidden))

fn forward(x: f32["batch hidden"]) -> f32["batch"] {
  for l in 0..layers {
    x = einsum(x, w[l], "b i, i o -> b o")
  }
  return rearrange(x @ final, "b 1 -> b")
}

train step(x: f32["batch hidden"], y: f32["batch"]) {
  loss = reduce((forward(x) - y) ** 2, "b ->", "mean")
  minimize loss with adagrad(lr = 0.01)
}
