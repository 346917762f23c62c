# `float[...]` in a signature is any float dtype, bound at each call like
# jaxtyping's Float; every `float` in one signature is the same dtype.
import "nn.td"

dim b = 2
dim n = 8

fn scale(x: float["... n"], by: float) -> float["... n"] {
  return x * by
}

fn f(x: bf16["b n"], y: f32["b n"], h: f16["n"], t: i64["b"]) -> bf16 {
  p = softmax(x)              # bf16
  q = softmax(y)              # f32
  r = scale(h, 2.0)           # f16: a literal fits any float
  s = scale(y, y[0][0])       # f32
  return cross_entropy(x, t)
}
