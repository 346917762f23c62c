# Keeping '...' and every named axis removes nothing either.
fn f(x: f32["... n"]) -> f32["... n"] {
  return reduce(x, "... n -> ... n", "sum")
}
