# How dtypes combine: integers widen, integers meet floats as the float,
# bool meets numbers as the number, literals take the tensor's dtype.
dim n = 4
fn f(a: i32["n"], b: i64["n"], c: u16["n"], m: bool["n"], h: f16["n"], g: bf16["n"]) -> f32["n"] {
  wide = a + b
  small = c + a
  mixed = a * h
  masked = m * a
  masked_float = m * g
  literal_int = c + 1
  literal_float = h * 0.5
  literal_on_int = a * 0.5
  literal_on_bool = m + 1
  division = a / b
  half_division = h / 2
  compare = a < b
  equal = h == 1.0
  power = h ** 2
  return division
}
