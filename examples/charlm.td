# A character-level language model: a one-block transformer over bytes.
# Tokens are bytes (vocab 256); tools/make_text_data.py turns the
# project's own docs into token files in llm.c's format, and
#   ./charlm train --dims batch=16 --data train.bin --steps 300
# trains it on windows of seq + 1 bytes (x = tokens, y = the next ones).
import "nn.td"

dim batch
dim seq = 64
dim vocab = 256
dim model = 64
dim heads = 4
dim head = model / heads
dim hidden = 4 * model

param embed: f32["vocab model"] = normal(std = 0.02)
param position: f32["seq model"] = normal(std = 0.02)
param ln1_gain: f32["model"] = ones()
param ln1_bias: f32["model"] = zeros()
param wqkv: f32["model 3*model"] = normal(std = 0.02)
param wo: f32["model model"] = normal(std = 0.02)
param ln2_gain: f32["model"] = ones()
param ln2_bias: f32["model"] = zeros()
param w1: f32["model hidden"] = normal(std = 0.02)
param w2: f32["hidden model"] = normal(std = 0.02)
param lnf_gain: f32["model"] = ones()
param lnf_bias: f32["model"] = zeros()
param unembed: f32["model vocab"] = normal(std = 0.02)

fn attention(x: f32["batch seq model"]) -> f32["batch seq model"] {
  qkv = rearrange(x @ wqkv, "b s (three h d) -> three b h s d", three = 3, h = heads)
  scores = einsum(qkv[0], qkv[1], "b h s1 d, b h s2 d -> b h s1 s2") / sqrt(head)
  future = triu(ones("seq seq"), diagonal = 1) > 0
  weights = softmax(where(future, full("seq seq", -1e9), scores))
  out = einsum(weights, qkv[2], "b h s1 s2, b h s2 d -> b h s1 d")
  return rearrange(out, "b h s d -> b s (h d)") @ wo
}

fn logits(tokens: i32["batch seq"]) -> f32["batch seq vocab"] {
  x = take(embed, tokens, "vocab model, b s -> b s model") + position
  x = x + attention(layer_norm(x, ln1_gain, ln1_bias))
  x = x + gelu(layer_norm(x, ln2_gain, ln2_bias) @ w1) @ w2
  return layer_norm(x, lnf_gain, lnf_bias) @ unembed
}

fn loss(x: i32["batch seq"], y: i32["batch seq"]) -> f32 {
  return cross_entropy(logits(x), y as i64)
}

train step(x: i32["batch seq"], y: i32["batch seq"]) {
  minimize loss(x, y) with adamw(lr = 3e-3, weight_decay = 0.1, clip = 1.0, schedule = "cosine", warmup = 20, total = 1000,
                                 min_lr = 3e-4, no_decay = "ln1_gain ln1_bias ln2_gain ln2_bias lnf_gain lnf_bias position")
}
