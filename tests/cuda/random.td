# tests/cuda/random_check.c: random numbers on the GPU against the CPU's, one
# seed: plain functions that draw (each dtype and distribution, two draws in
# one function), and a train block that draws its batch (eager, captured,
# then replayed as a graph).
dim n
dim batch = 8
dim d = 4

param w: f32["d 1"] = normal(std = 0.5)

fn normal32() -> f32["n"] {
  return randn("n")
}

fn uniform32() -> f32["n"] {
  return rand("n")
}

fn normal64() -> f64["n"] {
  return randn("n", dtype = f64)
}

fn uniform64() -> f64["n"] {
  return rand("n", dtype = f64)
}

fn two() -> (f32["n"], f32["n"]) {
  return rand("n"), randn("n")
}

train step {
  x = randn("batch d")
  y = x @ (arange("d") as f32)
  loss = reduce((rearrange(x @ w, "b 1 -> b") - y) ** 2, "b ->", "mean")
  minimize loss with sgd(lr = 0.01)
}
