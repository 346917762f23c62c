# Imported by import_duplicate_declaration.td.
dim n = 8
fn normalise(x: f32["n"]) -> f32["n"] {
  return x
}
