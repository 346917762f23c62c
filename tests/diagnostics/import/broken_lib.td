# Imported by import_error_in_imported_file.td: its errors are reported
# against this file.
dim n = 4
fn helper(x: f32["n"]) -> f32["n"] {
  return x @ x
}
