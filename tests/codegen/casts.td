# Casts that give a value back unchanged cost nothing: a cast to the dtype
# a value has, or a narrow float's round trip through f32, simplifies to the
# value, and the map that would copy it is no node (its readers read the
# value). A round trip that rounds (f32 through bf16) stays.
dim batch
dim n = 16

fn round_trip(x: bf16["batch n"], w: bf16["n n"]) -> bf16["batch n"] {
  return ((x as f32) as bf16) @ w
}

fn same_dtype(x: f32["batch n"], w: f32["n n"]) -> f32["batch n"] {
  return (x as f32) @ w
}

fn rounds(x: f32["batch n"], w: f32["n n"]) -> f32["batch n"] {
  return ((x as bf16) as f32) @ w
}

# the gradient of a bf16 contraction chain: each adjoint is rounded to bf16
# once for the contractions that read it, not widened and narrowed again
fn chain_grad(x: bf16["batch n"], w: bf16["n n"], v: bf16["n n"]) -> f32["n n"] {
  loss = reduce(((x @ w @ v) as f32) ** 2, "b o ->", "sum")
  gw = grad(loss, w)
  return gw
}
