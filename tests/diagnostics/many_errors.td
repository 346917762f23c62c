# More than 20 errors: the first 20 are shown, then a count of the rest.
dim n = 4
fn f(x: f32["n"]) -> f32["n"] {
  a0 = x + missing0
  a1 = x + missing1
  a2 = x + missing2
  a3 = x + missing3
  a4 = x + missing4
  a5 = x + missing5
  a6 = x + missing6
  a7 = x + missing7
  a8 = x + missing8
  a9 = x + missing9
  a10 = x + missing10
  a11 = x + missing11
  a12 = x + missing12
  a13 = x + missing13
  a14 = x + missing14
  a15 = x + missing15
  a16 = x + missing16
  a17 = x + missing17
  a18 = x + missing18
  a19 = x + missing19
  a20 = x + missing20
  a21 = x + missing21
  a22 = x + missing22
  a23 = x + missing23
  a24 = x + missing24
  return x
}
