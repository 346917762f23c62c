# Characters that are no token of the language.
dim n = 4 $
const a = 1 ? 2
const b = !a
const c = 3 
