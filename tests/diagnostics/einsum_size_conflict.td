# A label bound by two operands must have one size; the notes say where
# each size came from.
dim batch
dim model = 64
dim hidden = 128
param w: f32["hidden model"] = zeros()
fn f(x: f32["batch model"]) -> f32["batch hidden"] {
  return einsum(x, w, "b i, i o -> b o")
}
