# bench/gpu/cruncher_big.td - the lesson's deep linear model (examples/cruncher.td)
# at benchmark size: 8 layers of 4096 x 4096, a final 4096 x 1, the mean squared
# error, AdamW with torch's defaults but for lr. batch is bound at run time
# (8192 in bench/gpu/run.sh). A step is 2 B H (8 H + 1) FLOPs forward and
# about twice that backward. lr is 1e-5: Adam moves every weight by about lr
# a step whatever its gradient, and at 1e-3 (a sixteenth of a weight of std
# 1/64) the loss of the 8-layer product grows a thousandfold and more a
# step, until a step refuses an infinite loss; at 1e-5 it falls and stays
# finite (80 steps at batch 64, on the CPU).
dim batch
dim hidden = 4096
const layers = 8

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
  minimize loss with adamw(lr = 1e-5)
}
