# Constructors: a shape string of dims, numbers and products, and an
# optional dtype; inside a generic function the shape may use '...'.
dim batch
dim n = 4
const k = 3
fn f(x: f32["batch n"]) -> f32["batch n"] {
  z = zeros("batch n")
  o = ones("n k", dtype = bf16)
  r = randn("2*n batch")
  u = rand("n", f64)
  full_f = full("n n", 1.5)
  full_i = full("n", 7)
  full_b = full("n", true)
  full_t = full("n", 2, dtype = f16)
  idx = arange("n")
  idx32 = arange("k", i32)
  scalar_zero = zeros("")
  bools = zeros("n", bool)
  return x + z
}
fn g(x: f32["... d"]) -> f32["... d"] {
  noise = randn("... d")
  return x + noise
}
fn h(x: f32["batch n"]) -> f32["batch n"] {
  return g(x)
}
