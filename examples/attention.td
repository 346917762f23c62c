# Multi-head causal self-attention, written with einsum, rearrange and triu.
import "nn.td"

dim batch
dim seq
dim model = 64
dim heads = 4
dim head = model / heads

param wqkv: f32["model 3*model"] = xavier_uniform()
param wo: f32["model model"] = normal(std = 0.02)

fn attention(x: f32["batch seq model"]) -> f32["batch seq model"] {
  qkv = rearrange(x @ wqkv, "b s (three h d) -> three b h s d", three = 3, h = heads)
  q = qkv[0]
  k = qkv[1]
  v = qkv[2]
  scores = einsum(q, k, "b h s1 d, b h s2 d -> b h s1 s2") / sqrt(head)
  future = triu(ones("seq seq"), diagonal = 1) > 0        # True above the diagonal
  scores = where(future, full("seq seq", -1e9), scores)
  weights = softmax(scores)
  out = einsum(weights, v, "b h s1 s2, b h s2 d -> b h s1 d")
  return rearrange(out, "b h s d -> b s (h d)") @ wo
}
