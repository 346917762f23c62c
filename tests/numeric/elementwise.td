# Numeric tests: elementwise functions, arithmetic, promotion, broadcasting,
# casts and constructors, compiled and run against numpy and ml_dtypes
# (tests/numeric/cases.py).
dim batch
dim seq
dim n = 6

# ---- elementwise functions (f32) ----

fn ew_sqrt(x: f32["batch n"]) -> f32["batch n"] {
  return sqrt(x)
}
fn ew_rsqrt(x: f32["batch n"]) -> f32["batch n"] {
  return rsqrt(x)
}
fn ew_exp(x: f32["batch n"]) -> f32["batch n"] {
  return exp(x)
}
fn ew_log(x: f32["batch n"]) -> f32["batch n"] {
  return log(x)
}
fn ew_tanh(x: f32["batch n"]) -> f32["batch n"] {
  return tanh(x)
}
fn ew_sigmoid(x: f32["batch n"]) -> f32["batch n"] {
  return sigmoid(x)
}
fn ew_gelu(x: f32["batch n"]) -> f32["batch n"] {
  return gelu(x)
}
fn ew_silu(x: f32["batch n"]) -> f32["batch n"] {
  return silu(x)
}
fn ew_sin(x: f32["batch n"]) -> f32["batch n"] {
  return sin(x)
}
fn ew_cos(x: f32["batch n"]) -> f32["batch n"] {
  return cos(x)
}
fn ew_abs(x: f32["batch n"]) -> f32["batch n"] {
  return abs(x)
}
fn ew_relu(x: f32["batch n"]) -> f32["batch n"] {
  return relu(x)
}
fn ew_neg(x: f32["batch n"]) -> f32["batch n"] {
  return -x
}
fn ew_pos(x: f32["batch n"]) -> f32["batch n"] {
  return +x
}
fn ew_add(x: f32["batch n"], y: f32["batch n"]) -> f32["batch n"] {
  return x + y
}
fn ew_sub(x: f32["batch n"], y: f32["batch n"]) -> f32["batch n"] {
  return x - y
}
fn ew_mul(x: f32["batch n"], y: f32["batch n"]) -> f32["batch n"] {
  return x * y
}
fn ew_div(x: f32["batch n"], y: f32["batch n"]) -> f32["batch n"] {
  return x / y
}
fn ew_pow2(x: f32["batch n"]) -> f32["batch n"] {
  return x ** 2
}
fn ew_pow3(x: f32["batch n"]) -> f32["batch n"] {
  return x ** 3
}
fn ew_pow_half(x: f32["batch n"]) -> f32["batch n"] {
  return x ** 0.5
}
fn ew_pow_neg(x: f32["batch n"]) -> f32["batch n"] {
  return x ** -1
}
fn ew_pow_tensor(x: f32["batch n"], y: f32["batch n"]) -> f32["batch n"] {
  return x ** y
}
fn ew_pow_base(y: f32["batch n"]) -> f32["batch n"] {
  return 2 ** y
}
fn ew_neg_pow(x: f32["batch n"]) -> f32["batch n"] {
  return -x ** 2
}
fn ew_max(x: f32["batch n"], y: f32["batch n"]) -> f32["batch n"] {
  return max(x, y)
}
fn ew_min(x: f32["batch n"], y: f32["batch n"]) -> f32["batch n"] {
  return min(x, y)
}
fn ew_max_lit(x: f32["batch n"]) -> f32["batch n"] {
  return max(x, 0.25)
}
fn ew_min_bcast(x: f32["3 n"], y: f32["n"]) -> f32["3 n"] {
  return min(y, x)
}
fn ew_where(c: bool["3 n"], a: f32["3 n"], b: f32["n"]) -> f32["3 n"] {
  return where(c, a, b)
}
fn ew_where_lit(x: f32["3 n"]) -> f32["3 n"] {
  return where(x > 0, x, 0)
}
fn ew_where_bcast_cond(c: bool["n"], a: f32["3 1"], b: f32) -> f32["3 n"] {
  return where(c, a, b)
}
fn ew_cmp(x: f32["3 n"], y: f32["3 n"]) -> (bool["3 n"], bool["3 n"], bool["3 n"], bool["3 n"], bool["3 n"], bool["3 n"]) {
  return x == y, x != y, x < y, x <= y, x > y, x >= y
}
fn ew_cmp_lit(x: f32["3 n"]) -> (bool["3 n"], bool["3 n"]) {
  return x > 0.5, x == 1
}
fn ew_cmp_int(x: i32["3 n"], y: i64["n"]) -> (bool["3 n"], bool["3 n"]) {
  return x < y, x == y
}
fn ew_cmp_bool(a: bool["n"], b: bool["n"]) -> (bool["n"], bool["n"], bool["n"], bool["n"], bool["n"]) {
  return a == b, a != b, a < b, a >= b, where(a, b, a)
}
fn ew_doc(x: f32["seq n"]) -> f32["seq n"] {
  a = sqrt(abs(x)) + rsqrt(x * x + 1e-6) + exp(-x) + log(sigmoid(x))
  b = tanh(x) + gelu(x) + silu(x) + relu(x) + sin(x) * cos(x)
  c = max(a, 0) - min(b, x)
  causal = tril(ones("seq seq"))
  return where(x > 0, c, 0) + causal @ x
}
fn ew_fused(x: f32["batch n"], y: f32["n"]) -> f32["batch n"] {
  return exp(-(x - y) ** 2 / 2) * sigmoid(y) + tanh(x * y) / (1 + abs(x))
}

# ---- broadcasting ----

fn bc_three(x: f32["2 3 4"], b: f32["4"], m: f32["3 1"]) -> f32["2 3 4"] {
  return x + b + m
}
fn bc_both(a: f32["3 1"], b: f32["1 4"]) -> f32["3 4"] {
  return a * b
}
fn bc_rank(a: f32["2 1 4"], b: f32["3 1"]) -> f32["2 3 4"] {
  return a - b
}
fn bc_scalar(x: f32["3 4"], s: f32) -> f32["3 4"] {
  return x * s + s
}
fn bc_scalar_only(s: f32, t: f32) -> f32 {
  return s / t - s * t
}
fn bc_rt(x: f32["batch seq 4"], b: f32["seq 4"], c: f32["batch 1 1"]) -> f32["batch seq 4"] {
  return (x - b) / c
}
fn bc_r6(a: f32["2 1 3 1 2 1"], b: f32["1 2 1 3 1 2"]) -> f32["2 2 3 3 2 2"] {
  return a * b + a
}

# ---- integers, bools and promotion ----

fn pr_int_div(a: i32["n"], b: i32["n"]) -> f32["n"] {
  return a / b
}
fn pr_int_div_lit(a: i32["n"]) -> f32["n"] {
  return a / 2
}
fn pr_int_arith(a: i32["n"], b: i64["n"]) -> i64["n"] {
  return a + b * 3 - a
}
fn pr_i32_ops(a: i32["n"], b: i32["n"]) -> (i32["n"], i32["n"], i32["n"], i32["n"]) {
  return a + b, a - b, a * b, -a
}
fn pr_i64_pow(a: i64["n"]) -> i64["n"] {
  return a ** 3
}
fn pr_i32_pow(a: i32["n"]) -> i32["n"] {
  return a ** 2
}
fn pr_int_pow_tensor(a: i32["n"], b: i32["n"]) -> i32["n"] {
  return a ** b
}
fn pr_float_pow_int(x: f32["n"], b: i32["n"]) -> f32["n"] {
  return x ** b
}
fn pr_abs_int(a: i32["n"]) -> (i32["n"], i32["n"]) {
  return abs(a), relu(a)
}
fn pr_max_int(a: i64["n"], b: i32["n"]) -> (i64["n"], i64["n"]) {
  return max(a, b), min(a, b)
}
fn pr_int_float_lit(a: i32["n"]) -> f32["n"] {
  return a * 2.5
}
fn pr_int_f16(a: i32["n"], h: f16["n"]) -> f16["n"] {
  return a + h
}
fn pr_bool_mul(m: bool["n"], x: f32["n"]) -> f32["n"] {
  return m * x
}
fn pr_bool_int_lit(m: bool["n"]) -> i64["n"] {
  return m + 1
}
fn pr_bool_float_lit(m: bool["n"]) -> f32["n"] {
  return m * 2.5
}
fn pr_bool_int(m: bool["n"], a: i32["n"]) -> i32["n"] {
  return m * a + a
}
fn pr_u16(a: u16["n"], b: u16["n"]) -> (u16["n"], u16["n"], u16["n"]) {
  return a + b, a * b, a - b
}
fn pr_u16_i32(a: u16["n"], b: i32["n"]) -> i32["n"] {
  return a - b
}
fn pr_weak_f16(h: f16["n"]) -> f16["n"] {
  return h * 2 + 0.1
}
fn pr_weak_const(x: f32["n"]) -> f32["n"] {
  return x * (1 / sqrt(n))
}

# ---- f64 ----

fn f64_fns(x: f64["n"]) -> (f64["n"], f64["n"], f64["n"], f64["n"], f64["n"], f64["n"], f64["n"]) {
  return exp(x), tanh(x), sigmoid(x), gelu(x), silu(x), sin(x), cos(x)
}
fn f64_pos(x: f64["n"]) -> (f64["n"], f64["n"], f64["n"], f64["n"]) {
  return sqrt(x), rsqrt(x), log(x), x ** 0.25
}
fn f64_arith(x: f64["n"], y: f64["n"]) -> f64["n"] {
  return (x + y) * (x - y) / (y + 3) - max(x, y) + abs(-x) + relu(y)
}
fn f64_lit(x: f64["n"]) -> f64["n"] {
  return x * 0.1 + 1e-300
}

# ---- narrow floats: computed in f32, rounded once per operation ----

fn h_arith(x: f16["n"], y: f16["n"]) -> (f16["n"], f16["n"], f16["n"], f16["n"]) {
  return x + y, x - y, x * y, x / y
}
fn h_chain(x: f16["n"], y: f16["n"]) -> f16["n"] {
  return x * y + x / y - x
}
fn h_fns(x: f16["n"]) -> (f16["n"], f16["n"], f16["n"], f16["n"]) {
  return exp(x), tanh(x), sigmoid(x), sqrt(abs(x))
}
fn b_arith(x: bf16["n"], y: bf16["n"]) -> (bf16["n"], bf16["n"], bf16["n"], bf16["n"]) {
  return x + y, x - y, x * y, x / y
}
fn b_chain(x: bf16["n"], y: bf16["n"]) -> bf16["n"] {
  return x * y + x / y - x
}
fn b_fns(x: bf16["n"]) -> (bf16["n"], bf16["n"], bf16["n"], bf16["n"]) {
  return exp(x), tanh(x), gelu(x), silu(x)
}
fn b_weak(x: bf16["n"]) -> bf16["n"] {
  return x * 3 + 0.1
}
fn b_cmp(x: bf16["n"], y: bf16["n"]) -> bool["n"] {
  return x < y
}

fn q_arith(x: f8e4m3["n"], y: f8e4m3["n"]) -> (f8e4m3["n"], f8e4m3["n"], f8e4m3["n"]) {
  return x + y, x * y, x / y
}
fn q5_chain(x: f8e5m2["n"], y: f8e5m2["n"]) -> f8e5m2["n"] {
  return x * y - x
}
fn q_mm(x: f8e4m3["2 n"], y: f8e4m3["n 3"]) -> f8e4m3["2 3"] {
  return x @ y
}
fn q5_sum(x: f8e5m2["2 n"]) -> f8e5m2["2"] {
  return reduce(x, "a b -> a", "sum")
}
fn q5_bf16(x: f8e5m2["n"]) -> bf16["n"] {
  return x as bf16
}

# ---- casts ----

fn c_f32_i32(x: f32["n"]) -> i32["n"] {
  return x as i32
}
fn c_f32_i64(x: f32["n"]) -> i64["n"] {
  return x as i64
}
fn c_f32_u16(x: f32["n"]) -> u16["n"] {
  return x as u16
}
fn c_f32_f64(x: f32["n"]) -> f64["n"] {
  return x as f64
}
fn c_f64_f32(x: f64["n"]) -> f32["n"] {
  return x as f32
}
fn c_f64_i64(x: f64["n"]) -> i64["n"] {
  return x as i64
}
fn c_i64_f32(x: i64["n"]) -> f32["n"] {
  return x as f32
}
fn c_i64_f64(x: i64["n"]) -> f64["n"] {
  return x as f64
}
fn c_i32_f64(x: i32["n"]) -> f64["n"] {
  return x as f64
}
fn c_i32_i64(x: i32["n"]) -> i64["n"] {
  return x as i64
}
fn c_i64_i32(x: i64["n"]) -> i32["n"] {
  return x as i32
}
fn c_u16_i64(x: u16["n"]) -> i64["n"] {
  return x as i64
}
fn c_u16_f32(x: u16["n"]) -> f32["n"] {
  return x as f32
}
fn c_f32_bool(x: f32["n"]) -> bool["n"] {
  return x as bool
}
fn c_i32_bool(x: i32["n"]) -> bool["n"] {
  return x as bool
}
fn c_bool_f32(x: bool["n"]) -> f32["n"] {
  return x as f32
}
fn c_bool_i32(x: bool["n"]) -> i32["n"] {
  return x as i32
}
fn c_f32_f16(x: f32["n"]) -> f16["n"] {
  return x as f16
}
fn c_f32_bf16(x: f32["n"]) -> bf16["n"] {
  return x as bf16
}
fn c_f64_f16(x: f64["n"]) -> f16["n"] {
  return x as f16
}
fn c_f64_bf16(x: f64["n"]) -> bf16["n"] {
  return x as bf16
}
fn c_f16_f32(x: f16["n"]) -> f32["n"] {
  return x as f32
}
fn c_bf16_f32(x: bf16["n"]) -> f32["n"] {
  return x as f32
}
fn c_f16_bf16(x: f16["n"]) -> bf16["n"] {
  return x as bf16
}
fn c_bf16_f64(x: bf16["n"]) -> f64["n"] {
  return x as f64
}
fn c_bf16_i32(x: bf16["n"]) -> i32["n"] {
  return x as i32
}
fn c_i32_bf16(x: i32["n"]) -> bf16["n"] {
  return x as bf16
}
fn c_bool_bf16(x: bool["n"]) -> bf16["n"] {
  return x as bf16
}
fn c_f32_e4m3(x: f32["n"]) -> f8e4m3["n"] {
  return x as f8e4m3
}
fn c_f32_e5m2(x: f32["n"]) -> f8e5m2["n"] {
  return x as f8e5m2
}
fn c_e4m3_f32(x: f8e4m3["n"]) -> f32["n"] {
  return x as f32
}
fn c_arith(x: i32["n"]) -> f32["n"] {
  return (x as f32) / 3
}
fn c_cmp(x: f32["n"]) -> i64["n"] {
  return (x > 0) as i64
}
fn c_roundtrip(x: f32["n"]) -> f32["n"] {
  return (x as bf16) as f32 - x
}

# ---- constructors ----

fn k_random() -> (f32["100000"], f32["100000"], f64["100000"], f64["100000"]) {
  return randn("100000"), rand("100000"), randn("100000", dtype = f64), rand("100000", dtype = f64)
}

fn k_zeros() -> f32["3 4"] {
  return zeros("3 4")
}
fn k_ones_bf16() -> bf16["2 3"] {
  return ones("2 3", dtype = bf16)
}
fn k_ones_i32() -> i32["4"] {
  return ones("4", dtype = i32)
}
fn k_zeros_bool() -> bool["2 2"] {
  return zeros("2 2", dtype = bool)
}
fn k_full() -> f32["2 3"] {
  return full("2 3", -1.5)
}
fn k_full_int() -> i64["4"] {
  return full("4", 7)
}
fn k_full_bool() -> bool["2 2"] {
  return full("2 2", true)
}
fn k_full_f64() -> f64["3"] {
  return full("3", 0.1, dtype = f64)
}
fn k_full_i32() -> i32["2"] {
  return full("2", -3, dtype = i32)
}
fn k_full_scalar() -> f32 {
  return full("", 2.5)
}
fn k_arange() -> i64["5"] {
  return arange("5")
}
fn k_arange_f32() -> f32["7"] {
  return arange("7", dtype = f32)
}
fn k_arange_rt(x: f32["batch"]) -> i64["batch"] {
  return arange("batch")
}
fn k_arange_cmp() -> bool["n"] {
  return arange("n") < 3
}
fn k_triu_ones() -> f32["4 4"] {
  return triu(ones("4 4"))
}
fn k_triu_d1() -> f32["4 4"] {
  return triu(ones("4 4"), diagonal = 1)
}
fn k_tril_ones() -> f32["4 4"] {
  return tril(ones("4 4"))
}
fn k_tril_dm1() -> f32["4 4"] {
  return tril(ones("4 4"), diagonal = -1)
}
fn k_triu_x(x: f32["2 3 4 5"]) -> f32["2 3 4 5"] {
  return triu(x)
}
fn k_triu_x_d2(x: f32["5 3"]) -> f32["5 3"] {
  return triu(x, diagonal = 2)
}
fn k_tril_x_dm2(x: f32["3 5"]) -> f32["3 5"] {
  return tril(x, diagonal = -2)
}
fn k_tril_x_d1(x: f32["2 4 3"]) -> f32["2 4 3"] {
  return tril(x, diagonal = 1)
}
fn k_triu_i32(x: i32["3 3"]) -> i32["3 3"] {
  return triu(x)
}
fn k_tril_rt(x: f32["batch seq seq"]) -> f32["batch seq seq"] {
  return tril(x)
}
fn k_causal(x: f32["seq n"]) -> f32["seq n"] {
  return tril(ones("seq seq")) @ x
}
fn k_mask(x: f32["seq seq"]) -> f32["seq seq"] {
  future = triu(ones("seq seq"), diagonal = 1) > 0
  return where(future, -1e9, x)
}
fn k_zeros_rt(x: f32["batch n"]) -> f32["batch n"] {
  return x + zeros("batch n") + ones("n")
}
fn k_size_local(x: f32["batch n"]) -> f32["batch 12"] {
  m = 2 * n
  return repeat(x, "b n -> b (n k)", k = 2) + zeros("batch m")
}
