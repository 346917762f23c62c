# rearrange: transposes, merges, splits (with sizes), unit axes and '...'.
dim batch
dim seq
dim model = 64
dim heads = 4
fn f(x: f32["batch seq model"], u: f32["batch 1 model"]) -> f32["batch seq model"] {
  t = rearrange(x, "b s m -> s b m")
  merged = rearrange(x, "b s m -> (b s) m")
  split = rearrange(x, "b s (h d) -> b h s d", h = heads)
  split_named = rearrange(x, "b s (h d) -> b h s d", d = 16)
  both = rearrange(x, "b s (h d) -> b s h d", h = 4, d = 16)
  units = rearrange(x, "b s m -> b () s 1 m")
  squeeze = rearrange(u, "b () m -> b m")
  squeeze_one = rearrange(u, "b 1 m -> m b")
  tail = rearrange(x, "... m -> m ...")
  flat = rearrange(x, "b ... -> b (...)")
  grouped = rearrange(x, "b s m -> (s b) m")
  back = rearrange(merged, "(b s) m -> b s m", b = batch)
  return rearrange(t, "s b m -> b s m")
}
