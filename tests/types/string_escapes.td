# --types prints a string const as a literal, with its escapes.
const tab = "a\tb"
const quoted = "say \"hi\""
const slash = "back\\slash"
const hex = "\x41\x42"
