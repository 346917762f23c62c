# grad's arguments: a float scalar loss, then float tensors computed at run time.
dim n = 4
param w: f32["n"] = ones()

fn tensor_loss(x: f32["n"]) -> f32["n"] {
  return grad(x * w, w)
}

fn constant_wrt(x: f32["n"]) -> f32 {
  loss = reduce(x * w, "n ->", "sum")
  return grad(loss, 2.0)
}

fn int_wrt(x: f32["n"], i: i32["n"]) -> f32["n"] {
  loss = reduce(x * i, "n ->", "sum")
  return grad(loss, i)
}

fn no_tensors(x: f32["n"]) -> f32 {
  return grad(reduce(x, "n ->", "sum"))
}

fn by_keyword(x: f32["n"]) -> f32["n"] {
  return grad(reduce(x, "n ->", "sum"), of = x)
}
