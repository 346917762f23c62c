# Malformed shape strings in types.
dim n = 4
param a: f32["2n"] = zeros()
param b: f32["n 0"] = zeros()
param c: f32["*n"] = zeros()
param d: f32["(n n)"] = zeros()
param e: f32["#n"] = zeros()
param f: f32["n-1"] = zeros()
param g: f32["n*"] = zeros()
param h: f32["n.5"] = zeros()
param i: f32["n*-2"] = zeros()
