# Sizes given to einops calls and constructors may use run-time dims.
dim batch
dim seq
fn f(x: f32["batch seq"]) -> f32["batch seq"] {
  tiled = repeat(x, "b s -> b s k", k = batch / 2)
  grown = repeat(x, "b s -> b (s r)", r = seq)
  scaled = rearrange(x, "(b h) s -> b h s", h = batch / 4)
  return x
}
