# Calls are inlined, so a function may not call itself, directly or not.
dim n = 4
fn down(x: f32["n"]) -> f32["n"] {
  return down(x)
}
fn ping(x: f32["n"]) -> f32["n"] {
  return pong(x)
}
fn pong(x: f32["n"]) -> f32["n"] {
  return ping(x)
}
