# Literal forms, comments, ';' between statements and expressions that
# continue over several lines.
dim n = 0x10                     # hexadecimal
dim m = 0b100                    # binary
const big = 1_000_000
const small = 2.5e-3
const exact = 1e3
fn f(x: f32["n m"]) -> f32["n m"] {
  a = x * 2; b = a + 1
  c = a +
      b *
      small
  d = einsum(
    a,
    b,
    "i j, i j -> i j",
  )
  return c + d   # trailing comment
}
