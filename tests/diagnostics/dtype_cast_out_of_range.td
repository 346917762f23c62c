# A constant cast to an integer dtype must fit in it.
const big = 1e30 as i64
const neg = -1e19 as i32
const fine = 2.5 as i64
