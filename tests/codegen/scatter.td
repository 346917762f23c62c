# A view's gradient is a scatter: zeros, then each piece added at its places;
# where the pieces tile the result (each a contiguous block, end to end, as a
# stacked weight's layers do), each is stored and nothing is zeroed, and a
# piece that is a buffer read by the scatter alone is computed in its block
# of the scatter's (no copy), even where the scatter lives in the workspace.
dim n = 4
const layers = 3

fn all_layers(w: f32["layers n n"]) -> f32["layers n n"] {
  loss = reduce(w[0] * 2 + w[1] * 3 + w[2] * 4, "a b ->", "sum")
  g = grad(loss, w)
  return g
}

fn one_layer(w: f32["layers n n"]) -> f32["layers n n"] {
  loss = reduce(w[1] ** 2, "a b ->", "sum")
  g = grad(loss, w)
  return g
}

fn kept(w: f32["layers n n"]) -> f32["layers n n"] {
  loss = reduce(w[0] * 2 + w[1] ** 2 + exp(w[2]), "a b ->", "sum")
  g = grad(loss, w)
  return g * 2 + w
}
