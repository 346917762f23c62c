# Rearranges that only move strides: no copies in the plan.
dim batch
dim heads = 2
dim hidden1 = 4

fn transpose(x: f32["batch 3"]) -> f32["3 batch"] {
  return rearrange(x, "b c -> c b")
}

fn split_merge(x: f32["batch 8"]) -> f32["batch 8"] {
  y = rearrange(x, "... (heads hidden1) -> ... heads hidden1", heads = 2)
  return rearrange(y, "... heads hidden1 -> ... (heads hidden1)")
}

fn first_row(x: f32["2 batch"]) -> f32["batch"] {
  return x[1]
}

# A transpose then a merge: the axes are no longer evenly spaced, so one copy.
fn transpose_merge(x: f32["batch 3"]) -> f32["3*batch"] {
  return rearrange(x, "b c -> (c b)")
}
