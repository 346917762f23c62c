# Two run-time dims are different sizes unless they are the same dim.
dim batch
dim seq
fn f(a: f32["batch"], b: f32["seq"]) -> f32["batch"] {
  return a - b
}
