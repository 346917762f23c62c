# Every param has an initialiser from the list, with sensible arguments.
dim n = 4
param a: f32["n n"]
param b: f32["n n"] = randn("n n")
param c: f32["n n"] = 0.5
param d: f32["n n"] = zeros("n n")
param e: i32["n n"] = normal()
param g: f32["n"] = xavier_uniform()
param h: f32["n n"] = normal(std = 0)
param i: f32["n n"] = uniform(a = 1, b = -1)
param j: f32["n n"] = trunc_normal(a = 3)
param k: f32["n n"] = kaiming_normal(mode = "fan_middle")
param l: f32["n n"] = kaiming_uniform(nonlinearity = 3)
param m: f32["n n"] = normal(mean = true)
param o: f32["n n"] = normal(std = a)
param p: f32["n n"] = normal(variance = 1)
param q: f32["n n"] = xavier_normal(gain = -1)
param r: i32["n n"] = constant(3)
param s: f32["n n"] = constant()
