# nn.td - building blocks written in tdc itself. Each function is generic
# over leading axes (`...`) and over the sizes its signature names.

# Softmax over the last axis, shifted by the maximum for stability.
fn softmax(x: f32["... n"]) -> f32["... n"] {
  shifted = x - repeat(reduce(x, "... n -> ...", "max"), "... -> ... n", n = n)
  e = exp(shifted)
  return e / repeat(reduce(e, "... n -> ...", "sum"), "... -> ... n", n = n)
}

# log(softmax(x)), computed without forming softmax(x).
fn log_softmax(x: f32["... n"]) -> f32["... n"] {
  shifted = x - repeat(reduce(x, "... n -> ...", "max"), "... -> ... n", n = n)
  total = reduce(exp(shifted), "... n -> ...", "sum")
  return shifted - repeat(log(total), "... -> ... n", n = n)
}

# Layer normalisation over the last axis, with a gain and a bias.
fn layer_norm(x: f32["... n"], gain: f32["n"], bias: f32["n"]) -> f32["... n"] {
  mean = repeat(reduce(x, "... n -> ...", "mean"), "... -> ... n", n = n)
  centered = x - mean
  variance = repeat(reduce(centered ** 2, "... n -> ...", "mean"), "... -> ... n", n = n)
  return centered * rsqrt(variance + 1e-5) * gain + bias
}

# Mean cross-entropy of logits against integer targets.
fn cross_entropy(logits: f32["... n"], targets: i64["..."]) -> f32 {
  logp = log_softmax(logits)
  onehot = rearrange(targets, "... -> ... 1") == arange("n")     # broadcasts to bool["... n"]
  picked = reduce(logp * (onehot as f32), "... n -> ...", "sum")
  return -reduce(picked, "... -> ", "mean")
}
