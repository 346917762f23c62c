# An import that names no file.
import "/nonexistent/dir/missing.td"
import ""
import "bad\0name.td"
dim n = 4
param w: f32["n q"] = zeros()
