# A group in the first operand whose labels a later operand binds: einsum
# binds every operand's bare labels before it splits groups, so the order of
# the operands does not matter.
dim batch
dim heads = 4
dim head = 8
dim model = 32
fn f(x: f32["batch 2 model"], y: f32["2 heads head"]) -> f32["batch 2 heads"] {
  return einsum(x, y, "... s (h d), s h d -> ... s h")
}
