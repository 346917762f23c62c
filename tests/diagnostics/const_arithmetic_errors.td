# Constant folding catches overflow and division by zero.
const max = 9223372036854775807
const over = max + 1
const under = -max - 2
const times = max * 2
const power = 2 ** 64
const flip = -(-max - 1)
const div = 1 / 0
const mod = 1.5 / 0.0
const huge = 1e308 * 10
const nan = sqrt(-1)
const fine = 2 ** 62
