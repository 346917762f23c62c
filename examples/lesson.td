# The snippets of Stanford CS336, lecture 2 ("PyTorch and resource
# accounting"), written in tdc. Each function is named after the lesson's
# snippet, with the PyTorch / einops / jaxtyping lines in comments above the
# tdc lines that do the same. `tdc check --types examples/lesson.td` prints
# the shape of every binding; a wrong size anywhere is a compile-time error.

# The lesson's sizes, as dims: torch.ones(2, 3, 4) is "batch seq hidden".
dim batch = 2
dim seq = 3
dim hidden = 4
dim heads = 1          # the jaxtyping snippet's heads
dim seq1 = 3
dim seq2 = 3
dim total_hidden = 8   # a flattened heads * hidden1, with heads = 2
dim hidden1 = 4
dim hidden2 = 4

# jaxtyping_basics:
#   x = torch.ones(2, 2, 1, 3)  # batch seq heads hidden      (old way)
#   x: Float[Tensor, "batch seq heads hidden"] = torch.ones(2, 2, 1, 3)
# In tdc the names are sizes, so the dims above decide them: here x is
# 2 x 3 x 1 x 4 (the lesson's one snippet with seq = 2, hidden = 3 would
# clash with the seq and hidden of the snippets below).
fn jaxtyping_basics() -> f32["batch seq heads hidden"] {
  x = ones("batch seq heads hidden")
  return x
}

# einops_einsum:
#   x: Float[Tensor, "batch seq1 hidden"] = torch.ones(2, 3, 4)
#   y: Float[Tensor, "batch seq2 hidden"] = torch.ones(2, 3, 4)
#   z = x @ y.transpose(-2, -1)                                            (old way)
#   z = einsum(x, y, "batch seq1 hidden, batch seq2 hidden -> batch seq1 seq2")
#   z = einsum(x, y, "... seq1 hidden, ... seq2 hidden -> ... seq1 seq2")
fn einops_einsum(x: f32["batch seq1 hidden"], y: f32["batch seq2 hidden"]) -> f32["batch seq1 seq2"] {
  z = x @ rearrange(y, "b s h -> b h s")
  z = einsum(x, y, "batch seq1 hidden, batch seq2 hidden -> batch seq1 seq2")
  z = einsum(x, y, "... seq1 hidden, ... seq2 hidden -> ... seq1 seq2")
  return z
}

# einops_reduce:
#   x: Float[Tensor, "batch seq hidden"] = torch.ones(2, 3, 4)
#   y = x.sum(dim=-1)                                   (old way)
#   y = reduce(x, "... hidden -> ...", "sum")
#   y = x.mean(dim=-1)  /  reduce(x, "... hidden -> ...", "mean")
fn einops_reduce(x: f32["batch seq hidden"]) -> (f32["batch seq"], f32["batch seq"]) {
  y = reduce(x, "... hidden -> ...", "sum")
  m = reduce(x, "... hidden -> ...", "mean")
  return y, m
}

# einops_rearrange:
#   x: Float[Tensor, "batch seq total_hidden"] = torch.ones(2, 3, 8)
#   w: Float[Tensor, "hidden1 hidden2"] = torch.ones(4, 4)
#   x = rearrange(x, "... (heads hidden1) -> ... heads hidden1", heads=2)
#   x = einsum(x, w, "... hidden1, hidden1 hidden2 -> ... hidden2")
#   x = rearrange(x, "... heads hidden2 -> ... (heads hidden2)")
# Names in a pattern are the pattern's own, as in einops: `heads` there is
# 2, given by keyword, whatever the dim `heads` above is.
fn einops_rearrange(x: f32["batch seq total_hidden"], w: f32["hidden1 hidden2"]) -> f32["batch seq total_hidden"] {
  x = rearrange(x, "... (heads hidden1) -> ... heads hidden1", heads = 2)
  x = einsum(x, w, "... hidden1, hidden1 hidden2 -> ... hidden2")
  x = rearrange(x, "... heads hidden2 -> ... (heads hidden2)")
  return x
}

# tensor_slicing (views):
#   x = torch.tensor([[1., 2, 3], [4, 5, 6]])
#   y = x.view(3, 2)
#   y = x.transpose(1, 0)
# A view is a rearrange: flatten, then split into 3 rows.
fn tensor_views(x: f32["2 3"]) -> (f32["3 2"], f32["3 2"]) {
  flat = rearrange(x, "r c -> (r c)")
  viewed = rearrange(flat, "(r c) -> r c", r = 3)
  transposed = rearrange(x, "r c -> c r")
  return viewed, transposed
}

# tensor_elementwise:
#   x = torch.tensor([1, 4, 9])
#   x.pow(2), x.sqrt(), x.rsqrt(), x + x, x * 2, x / 0.5
#   x = torch.ones(3, 3).triu()
# (x is f32 here: sqrt and rsqrt need a float tensor, where torch converts.)
fn tensor_elementwise(x: f32["3"]) -> f32["3 3"] {
  squared = x ** 2
  root = sqrt(x)
  inverse_root = rsqrt(x)
  doubled = x + x
  twice = x * 2
  halved = x / 0.5
  upper = triu(ones("3 3"))
  return upper
}

# tensor_matmul:
#   x = torch.ones(16, 32); w = torch.ones(32, 2); y = x @ w   # (16, 2)
#   x = torch.ones(4, 8, 16, 32); w = torch.ones(32, 2); y = x @ w
#   assert y.size() == torch.Size([4, 8, 16, 2])
# The declared results play the part of the asserts.
fn tensor_matmul() -> (f32["16 2"], f32["4 8 16 2"]) {
  x = ones("16 32")
  w = ones("32 2")
  y = x @ w
  xb = ones("4 8 16 32")
  yb = xb @ w
  return y, yb
}

# gradients_basics (the forward pass):
#   x = torch.tensor([1., 2, 3])
#   w = torch.tensor([1., 1, 1], requires_grad=True)
#   pred_y = x @ w
#   loss = 0.5 * (pred_y - 5).pow(2)
fn gradients_basics(x: f32["3"]) -> f32 {
  w = ones("3")
  pred_y = x @ w
  loss = 0.5 * (pred_y - 5) ** 2
  return loss
}
