# Unknown escape sequences and a short \x escape in string literals.
const a = "tab\q"
const b = "\x4g"
const c = "ok\t\n\\\"\x41"
