# repeat adds axes: named with a size, anonymous sizes, groups and '...'.
dim batch
dim n = 4
fn f(x: f32["batch n"], v: f32["n"], u: f32["batch 1 n"]) -> f32["batch n"] {
  tiled = repeat(v, "n -> b n", b = batch)
  anon = repeat(v, "n -> n 3")
  grouped = repeat(v, "n -> (n 2)")
  inner = repeat(v, "n -> (r n)", r = 3)
  lead = repeat(x, "... n -> ... n k", k = 5)
  unit = repeat(u, "b () n -> b 7 n")
  copy = repeat(x, "b n -> b n")
  return tiled
}
