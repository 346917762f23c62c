# Indexing a run-time leading axis needs it to be long enough.
dim batch
dim seq
fn f(x: f32["batch seq"], y: f32["seq"]) -> f32["seq"] {
  first = x[0]
  third = x[2]
  again = x[2]
  inner = x[0][3]
  return first + y
}
