# Sizes in shape strings must be whole, positive and fit in 64 bits.
dim n = 4
dim big = 4611686018427387904
param a: f32["n/3"] = zeros()
param b: f32["99999999999999999999"] = zeros()
param c: f32["big*4"] = zeros()
param d: f32["n/8*2"] = zeros()
