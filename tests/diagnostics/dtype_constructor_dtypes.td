# Constructors take a dtype such as f32; random numbers need a float dtype.
dim n = 4
fn f(x: f32["n"]) -> f32["n"] {
  a = zeros("n", dtype = 3)
  b = randn("n", dtype = i32)
  c = rand("n", bool)
  d = ones("n", "f32")
  e = full("n", x)
  g = full("n", 1.5, dtype = x)
  h = arange("n n")
  return x
}
