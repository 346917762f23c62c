# Letters glued to a number are a suffix, not a separate name.
const a = 12px
const b = 1.5f
const c = 2e3x
