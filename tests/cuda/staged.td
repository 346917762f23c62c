# tests/cuda/staged.td - two train blocks with batches of different sizes,
# for tests/cuda/staged_check.c's staging errors that only a GPU reaches.
dim batch
param w: f32["2"] = ones()
param v: f32["8"] = ones()

train small(x: f32["batch 2"]) {
  minimize reduce((x @ w) ** 2, "b ->", "mean") with sgd(lr = 0.01)
}

train big(x: f32["batch 8"]) {
  minimize reduce((x @ v) ** 2, "b ->", "mean") with sgd(lr = 0.01)
}
