# Independent errors across declarations: one run reports all of them.
dim batch
dim model = 64
dim heads = 5
dim head = model / heads
param w: f32["model hidden"] = normal(std = 0.02)
param b: f32["model"] = uniform(a = 2, b = 1)
fn layer(x: f32["batch model"]) -> f32["batch model"] {
  y = x @ w
  z = rearrange(x, "b (h d) -> b h d", h = 3)
  return softmax(x)
}
train step(x: f32["batch model"]) {
  loss = reduce(layer(x), "b m -> b", "mean")
  minimize loss with sgd(lr = -1)
}
