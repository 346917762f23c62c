# Declarations with a piece missing or out of order.
dim
const = 3
param p: = zeros()
fn (x: f32) -> f32 { return x }
train { minimize 1.0 with sgd() }
dim ok = 2
dim bad = ok / zero
