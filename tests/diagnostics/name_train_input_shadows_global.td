# A train block's inputs may not take the name of a global.
dim n = 4
param w: f32["n"] = zeros()
train step(w: f32["n"], n: f32["n"], x: f32["n"], x: f32["n"]) {
  minimize reduce(x, "n ->", "sum") with sgd()
}
