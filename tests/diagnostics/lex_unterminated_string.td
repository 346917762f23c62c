# A string literal that runs to the end of the line; the next line still checks.
import "nn.td
dim n = 4
param w: f32["n m"] = zeros()
