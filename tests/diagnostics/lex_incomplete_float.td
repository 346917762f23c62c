# A floating-point number needs digits on both sides of the point.
const a = 1.
const b = .5
const ok = 1.5
