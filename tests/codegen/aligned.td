# Which kernels move vectors without a run-time test of the addresses: the
# plan puts the workspace's buffers, the params and a train block's results
# at multiples of 64 bytes, so a map or a row group over them, whose sizes
# are multiples of its vectors whatever the dims, has no scalar path. The
# caller's arrays (a fn's inputs and results), a view at an offset of a
# run-time dim, and a row whose length is a run-time dim keep the test.
import "nn.td"
dim batch
dim m = 16

param w: f32["m m"] = normal(std = 0.1)

# The input and the result are the caller's: tested.
fn scale(x: f32["batch m"]) -> f32["batch m"] {
  return x * 2 + 1
}

# tanh's map over the workspace: no test. The softmax and the `* 3` after
# it are one row group, whose last member writes the caller's result: tested.
fn workspace(x: f32["batch m"]) -> f32["batch m"] {
  h = tanh(x @ w)
  return softmax(h @ w) * 3
}

# A view at the offset `batch` of the input: tested.
fn second(x: f32["2 batch m"]) -> f32["batch m"] {
  return exp(x[1])
}

# A row of `batch` elements: tested.
fn columns(x: f32["m batch"]) -> f32["m batch"] {
  return softmax(tanh(x))
}

# Its row groups read and write the workspace alone: not tested, here and in
# the train block, whose results (the loss, the grads) are the runtime's.
fn loss(x: f32["batch m"]) -> f32[""] {
  return reduce(softmax(tanh(x @ w)) ** 2, "b m ->", "mean")
}

train step(x: f32["batch m"]) {
  minimize loss(x) with sgd(lr = 0.1)
}
