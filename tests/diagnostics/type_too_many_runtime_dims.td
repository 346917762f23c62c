# A size may involve at most 8 different run-time dims.
dim a
dim b
dim c
dim d
dim e
dim f
dim g
dim h
dim i
param ok: f32["a*b*c*d*e*f*g*h"] = zeros()
param bad: f32["a*b*c*d*e*f*g*h*i"] = zeros()
