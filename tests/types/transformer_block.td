# A pre-norm transformer block: attention and an MLP, from nn.td.
import "nn.td"
dim batch
dim seq
dim model = 64
dim heads = 4
dim head = model / heads
dim hidden = 4 * model
param ln1_gain: f32["model"] = ones()
param ln1_bias: f32["model"] = zeros()
param ln2_gain: f32["model"] = ones()
param ln2_bias: f32["model"] = zeros()
param wqkv: f32["model 3*model"] = xavier_uniform()
param wo: f32["model model"] = normal(std = 0.02)
param w1: f32["model hidden"] = kaiming_uniform(nonlinearity = "relu")
param w2: f32["hidden model"] = normal(std = 0.02)
fn attention(x: f32["batch seq model"]) -> f32["batch seq model"] {
  q, k, v = split_qkv(x @ wqkv)
  scores = einsum(q, k, "b h s d, b h t d -> b h s t") / sqrt(head)
  causal = triu(ones("seq seq"), diagonal = 1) > 0
  weights = softmax(where(causal, -1e9, scores))
  out = einsum(weights, v, "b h s t, b h t d -> b s (h d)")
  return out @ wo
}
fn split_qkv(qkv: f32["batch seq 3*model"]) -> (f32["batch heads seq head"], f32["batch heads seq head"], f32["batch heads seq head"]) {
  parts = rearrange(qkv, "b s (three h d) -> three b h s d", three = 3, h = heads)
  return parts[0], parts[1], parts[2]
}
fn block(x: f32["batch seq model"]) -> f32["batch seq model"] {
  x = x + attention(layer_norm(x, ln1_gain, ln1_bias))
  h = gelu(layer_norm(x, ln2_gain, ln2_bias) @ w1)
  return x + h @ w2
}
train step(x: f32["batch seq model"], target: f32["batch seq model"]) {
  loss = reduce((block(x) - target) ** 2, "... ->", "mean")
  minimize loss with adamw(lr = 3e-4, weight_decay = 0.1)
}
