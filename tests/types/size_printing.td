# Sizes print in canonical form: coefficient first, dims in alphabetical
# order, powers, divisions last.
dim batch
dim seq
fn f(x: f32["batch"], v: f32["8"], one: f32["1"]) -> f32["batch"] {
  a = rearrange(x, "(b s t) -> b s t", s = seq, t = seq)
  b = rearrange(v, "... n -> n ...")
  c = x + one
  d = one + x
  e = rearrange(x, "(b s) -> b s", s = 2 * seq)
  g = repeat(x, "b -> b k", k = seq * seq * seq * seq * seq)
  h = repeat(x, "b -> k b", k = seq * batch * 3)
  return x
}
