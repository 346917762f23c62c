# Elementwise functions and operators keep the shape; float functions take
# literal arguments as f32.
dim n = 4
fn f(x: f32["n n"], h: bf16["n"], i: i32["n"]) -> f32["n n"] {
  a = sqrt(x) + rsqrt(x) + exp(x) + log(x)
  b = tanh(x) + sigmoid(x) + gelu(x) + silu(x)
  c = sin(h) + cos(h)
  d = abs(i)
  e = relu(i)
  g = relu(x) - abs(x)
  k = max(x, 0)
  l = min(i, 2)
  m = max(h, h * 2)
  p = x ** 2 + 2 ** x
  q = -x
  r = -i
  s = triu(x)
  t = tril(x, diagonal = -1)
  u = triu(x, 1)
  v = x @ x / 2
  lit = sqrt(2) * x
  return a + b
}
