# 'as' converts dtypes; on known numbers it folds.
dim n = 4
const half = 0.5 as f16
const three = 3.9 as i32
const flag = 2 as bool
const big = 1e18 as i64
fn f(x: f32["n"], i: i64["n"], m: bool["n"]) -> f32["n"] {
  a = i as f32
  b = m as f32
  c = x as i32
  d = (x > 0) as u16
  e = x as bf16 as f32
  g = -x as f64
  h = (i + 1) as f16
  k = x * (m as f32)
  return a + b + k
}
