# Conditions on the run-time dims, checked when they are bound.
dim batch

fn halves(x: f32["batch"]) -> f32["2 batch/2"] {
  return rearrange(x, "(h d) -> h d", h = 2)
}
