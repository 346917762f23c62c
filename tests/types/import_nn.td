# import "nn.td" finds the standard library; its functions are generic.
import "nn.td"
dim batch
dim seq
dim vocab = 50
dim model = 16
param gain: f32["model"] = ones()
param bias: f32["model"] = zeros()
param out: f32["model vocab"] = xavier_uniform()
fn f(x: f32["batch seq model"], targets: i64["batch seq"]) -> f32 {
  h = layer_norm(x, gain, bias)
  logits = h @ out
  probs = softmax(logits)
  logp = log_softmax(logits)
  return cross_entropy(logits, targets)
}
