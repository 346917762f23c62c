# '_' separates digits; it may not lead, trail or double up.
const a = 1__000
const b = 1000_
const c = 1_.5
const d = 1_000_000
