# Generic functions: size variables and '...' are bound at each call; the
# body is checked once per distinct binding.
dim batch
dim seq
dim model = 8
fn scale_rows(x: f32["... n"], s: f32["n"]) -> f32["... n"] {
  return x * s
}
fn mix(a: f32["r c"], b: f32["c k"]) -> f32["r k"] {
  return a @ b
}
fn first_axis(x: f32["m ..."]) -> f32["..."] {
  return x[1]
}
fn g(x: f32["batch seq model"], v: f32["model"], m: f32["model 3"], t: f32["seq model"]) -> f32["batch seq model"] {
  a = scale_rows(x, v)
  b = scale_rows(v, v)
  c = scale_rows(t, v)
  e = mix(t, m)
  f = mix(m, rearrange(m, "a b -> b a"))
  h = first_axis(x)
  k = first_axis(v)
  return scale_rows(x, v)
}
