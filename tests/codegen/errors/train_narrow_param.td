# Trained params are f32 or f64; the values computed from them may be narrower.
dim n = 4
param w: bf16["n"] = ones()

train step(x: bf16["n"]) {
  minimize reduce((x * w) as f32, "n ->", "sum") with sgd(lr = 0.1)
}
