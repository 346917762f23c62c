# Tokens in places the grammar does not allow.
dim n 64
param w f32["n"] = zeros()
const in = 3
x = 1
