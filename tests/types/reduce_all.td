# reduce with every reduction, over named axes, '...' and anonymous axes.
dim batch
dim n = 6
fn f(x: f32["batch n"], m: bool["batch n"], k: i32["batch n"]) -> f32["batch"] {
  s = reduce(x, "b n -> b", "sum")
  mean = reduce(x, "b n -> n", "mean")
  hi = reduce(x, "b n ->", "max")
  lo = reduce(x, "b n -> b", "min")
  prod = reduce(x, "b n -> b", "prod")
  lead = reduce(x, "... n -> ...", "sum")
  all = reduce(x, "... ->", "mean")
  pooled = reduce(x, "b (n two) -> b n", "max", two = 2)
  kept = reduce(x, "b n -> b ()", "sum")
  front = reduce(x, "b n -> 1 n", "max")
  count = reduce(m, "b n -> b", "sum")
  any = reduce(m, "b n -> b", "max")
  int_sum = reduce(k, "b n -> b", "sum")
  return s
}
