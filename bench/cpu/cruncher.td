# The Cruncher at the lesson's scale: D = 1024, 4 layers, B = 1024.
dim batch = 1024
dim hidden = 1024
const layers = 4

param w: f32["layers hidden hidden"] = normal(std = 1 / sqrt(hidden))
param final: f32["hidden 1"] = normal(std = 1 / sqrt(hidden))

fn forward(x: f32["batch hidden"]) -> f32["batch"] {
  for l in 0..layers {
    x = einsum(x, w[l], "b i, i o -> b o")
  }
  return rearrange(x @ final, "b 1 -> b")
}
