# Names declared both here and in an imported file; importing a file twice
# is fine.
import "import/dup_lib.td"
import "import/dup_lib.td"
dim n = 4
fn normalise(x: f32["n"]) -> f32["n"] {
  return x
}
