# After each syntax error the parser resumes at the next statement, and the
# checker still reports the errors of the statements that parsed.
dim n = 4
fn f(x: f32["n"]) -> f32["n"] {
  a = x +* 2
  b = undefined_name
  c = (x
  return x @ x
}
param w: f32["n"] = normal(std = )
param v: f32["n m"] = zeros()
