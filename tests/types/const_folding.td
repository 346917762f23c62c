# Consts and dims fold at compile time: integer arithmetic stays integral,
# '/' gives a float, and sizes divide exactly.
const a = 7
const b = a * 6 - 2
const c = b / 8
const d = 2 ** 10
const e = -a
const f = 1.5e3 + 0.5
const g = sqrt(16)
const h = max(a, 9)
const i = min(-2, a)
const j = (a + 1) * (a - 1)
const k = 1 / sqrt(64)
const hex = 0xff + 0b1010 + 1_000
const t = a > 5
const m = abs(-3)
dim n = d / 4
dim p = a + 1
dim q = n / p
