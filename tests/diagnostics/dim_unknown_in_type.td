# Names in a param's type must be dims (or consts).
dim n = 4
const k = 3
param table: f32["n"] = zeros()
fn f(x: f32) -> f32 { return x }
param a: f32["n m"] = zeros()
param b: f32["table n"] = zeros()
param c: f32["f k"] = zeros()
param d: f32["n*k"] = zeros()
