# The largest integer literal is 2**63 - 1.
const ok = 9223372036854775807
const big = 9223372036854775808
const huge = 0xffffffffffffffffff
