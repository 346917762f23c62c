# Errors in an imported file are reported in that file.
import "import/broken_lib.td"
dim m = 3
fn g(x: f32["n"]) -> f32["n"] {
  return helper(x)
}
