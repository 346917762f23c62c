# Names in a constructor's shape string: dims, consts and size variables
# are sizes; anything else is an error.
dim n = 4
const k = 3
param w: f32["n"] = zeros()
fn f(x: f32["m"]) -> f32["m"] {
  a = zeros("n k m")        # fine: a dim, a const and a size variable
  b = zeros("nope 3")
  c = ones("w")
  return x
}
