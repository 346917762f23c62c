# Every param initialiser with its arguments.
dim fan_in = 16
dim fan_out = 32
param a: f32["fan_in fan_out"] = normal()
param b: f32["fan_in fan_out"] = normal(mean = 0.5, std = 0.02)
param c: f32["fan_in fan_out"] = normal(0, 1 / sqrt(fan_in))
param d: f32["fan_in fan_out"] = trunc_normal(std = 0.02, a = -0.04, b = 0.04)
param e: f32["fan_in fan_out"] = uniform()
param g: f32["fan_in"] = uniform(a = -1, b = 1)
param h: f32["fan_in fan_out"] = constant(0.1)
param i: i64["fan_in"] = constant(3)
param j: f32["fan_in fan_out"] = xavier_uniform()
param k: f32["fan_in fan_out"] = xavier_normal(gain = 2)
param l: f32["fan_in fan_out"] = kaiming_uniform(a = 0.1, mode = "fan_out", nonlinearity = "leaky_relu")
param m: f16["fan_in fan_out"] = kaiming_normal(mode = "fan_in", nonlinearity = "relu")
param o: f32["fan_in"] = zeros()
param p: bf16["fan_in 2 2"] = ones()
param q: f32 = normal()
param r: bool["fan_out"] = zeros()
