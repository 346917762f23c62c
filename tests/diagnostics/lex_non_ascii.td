# Non-ASCII text is fine in comments (like this: ×, é) and strings, nowhere else.
dim n = 4
const s = "naïve"
const π = 3.14159
param w: f32["n n"] = normal(std = 0.5 × 2)
