# Every dtype in params and arguments, and casts between them.
dim n = 4
param a: f64["n"] = normal()
param b: f32["n"] = normal()
param c: f16["n"] = normal()
param d: bf16["n"] = normal()
param e: f8e4m3["n"] = normal()
param g: f8e5m2["n"] = normal()
param h: i64["n"] = constant(1)
param i: i32["n"] = constant(2)
param j: u16["n"] = zeros()
param k: bool["n"] = ones()
fn all(x: f64["n"], y: f8e5m2["n"], z: u16["n"]) -> f32["n"] {
  s = x as f32 + y as f32 + z as f32
  return s
}
fn use() -> f32["n"] {
  return all(a, g, j)
}
fn casts(x: f32["n"]) -> bool["n"] {
  to_f64 = x as f64
  to_f16 = x as f16
  to_bf16 = x as bf16
  to_e4m3 = x as f8e4m3
  to_e5m2 = x as f8e5m2
  to_i64 = x as i64
  to_i32 = x as i32
  to_u16 = x as u16
  to_bool = x as bool
  back = to_bool as f32
  return to_bool
}
