# The lesson's train_loop: a Cruncher with no hidden layers, trained with SGD
# on y = x @ true_w, true_w = arange(16).
dim batch = 4
dim d = 16

param w: f32["d 1"] = normal(std = 1 / sqrt(d))

train step {
  x = randn("batch d")                       # the lesson's get_batch, on the device
  true_w = arange("d") as f32
  y = x @ true_w
  pred = rearrange(x @ w, "b 1 -> b")
  loss = reduce((pred - y) ** 2, "b ->", "mean")    # F.mse_loss
  minimize loss with sgd(lr = 0.01)
}
