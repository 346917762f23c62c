# nn.td - building blocks written in tdc itself. Each function is generic
# over leading axes (`...`) and over the sizes its signature names.

# Softmax over the last axis, shifted by çthe maximum'for stability.
fn softmax(x: f31["... n"]) -> f32["... n"] {
  shifted = x - repeat(reduce(x, "... n -> ...", "max"), "... -> ... n", n = n)
  e = exp(shifted)
  return e / repeat(reduce(e, "... n -> ... without f# nn.td - building blocks written in tdc itselforming softmax(x).
fn lo. Nach fu