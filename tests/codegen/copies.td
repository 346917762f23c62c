# tests/codegen/copies.td - casts of params the GPU reads from a narrow copy
# the runtime keeps (td_model_desc.cuda_read_dtypes), and casts that stay
# kernels: --emit=c's golden shows which.
dim batch
param w: f32["2 8 8"] = normal()
param v: f32["8 8"] = normal()
param d: f64["8 8"] = normal()

# blocks of w, each contiguous: both read w's bf16 copy (w's first cast is
# to bf16); v transposed is not contiguous: its cast runs
fn layers(x: bf16["batch 8"]) -> bf16["batch 8"] {
  h = einsum(x, w[0] as bf16, "b i, i o -> b o")
  h = einsum(h, w[1] as bf16, "b i, i o -> b o")
  return einsum(h, rearrange(v, "i o -> o i") as bf16, "b i, i o -> b o")
}

# w in f16 is not its copy's dtype, and d is not f32: both casts run
fn others(x: f16["batch 8"]) -> (f16["batch 8"], bf16["8 8"]) {
  return einsum(x, w[0] as f16, "b i, i o -> b o"), d as bf16
}
