# The settings of a step besides the optimizer's own hyper-parameters.
dim n = 4
param w: f32["n"] = ones()
param b: f32["n"] = zeros()

train unknown_schedule(x: f32["n"]) {
  minimize reduce(x * w, "n ->", "sum") with sgd(lr = 0.1, schedule = "exponential")
}

train cosine_without_total(x: f32["n"]) {
  minimize reduce(x * w, "n ->", "sum") with sgd(lr = 0.1, schedule = "cosine", warmup = 10)
}

train bad_numbers(x: f32["n"]) {
  minimize reduce(x * w, "n ->", "sum") with adam(clip = 0, warmup = 2.5, gamma = 2, min_lr = -1)
}

train no_decay_names(x: f32["n"]) {
  minimize reduce(x * w + b, "n ->", "sum") with adamw(no_decay = "b bias x")
}

train given_twice(x: f32["n"]) {
  minimize reduce(x * w, "n ->", "sum") with sgd(clip = 1, clip = 2)
}
