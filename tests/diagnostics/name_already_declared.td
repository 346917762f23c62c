# Each global name is declared once, whatever its kind.
dim n = 4
const n = 5
param w: f32["n"] = zeros()
fn w(x: f32) -> f32 { return x }
train n { minimize reduce(w * w, "n ->", "sum") with sgd() }
