# Dims defined from other dims and consts; sizes in types may be products
# and quotients of dims.
const base = 16
dim model = 4 * base
dim heads = 4
dim head = model / heads
dim ff = 4 * model
dim pair = heads * head
const scale = 1 / sqrt(head)
param wqkv: f32["model 3*model"] = xavier_uniform()
param w_ff: f32["model ff"] = xavier_normal()
param w_out: f32["ff/4 model"] = zeros()
param bias: f32["model/heads*heads"] = zeros()
fn f(x: f32["2 model"]) -> f32["2 pair"] {
  qkv = x @ wqkv
  h = x @ w_ff
  back = x @ w_out
  scaled = x * scale
  return back + bias
}
