# nn.td - building blocks written in tdc itself. Each function is generic
# over leading axes (`...`), over the sizes its signature names, and over
# the float dtype (`float[...]`: f32, bf16, f16, ... bound at each call).

# Softmax over the last axis, shifted by the maximum for stability.
fn softmax(x: float["... n"]) -> float["... n"] {
  shifted = x - repeat(reduce(x, "... n -> ...", "max"), "... -> ... n", n = n)
  e = exp(shifted)
  return e / repeat(reduce(e, "... n -> ...", "sum"), "... -> ... n", n = n)
}

# log(softmax(x)), computed without forming softmax(x).
fn log_softmax(x: float["... n"]) -> float["... n"] {
  shifted = x - repeat(reduce(x, "... n -> ...", "max"), "... -> ... n", n = n)
  total = reduce(exp(shifted), "... n -> ...", "sum")
  return shifted - repeat(log(total), "... -> ... n", n = n)
}

# Layer normalisation over the last axis, with a gain and a bias.
fn layer_norm(x: float["... n"], gain: float["n"], bias: float["n"]) -> float["... n"] {
  mean = repeat(reduce(x, "... n -> ...", "mean"), "... -> ... n", n = n)
  centered = x - mean
  variance = repeat(reduce(centered ** 2, "... n -> ...", "mean"), "... -> ... n", n = n)
  return centered * rsqrt(variance + 1e-5) * gain + bias
}

# Mean cross-entropy of logits against integer targets.
fn cross_entropy(logits: float["... n"], targets: i64["..."]) -> float {
  logp = log_softmax(logits)
  onehot = rearrange(targets, "... -> ... 1") == arange("n")     # broadcasts to bool["... n"]
  picked = reduce(where(onehot, logp, 0.0), "... n -> ...", "sum")
  return -reduce(picked, "... -> ", "mean")
}
