# Digits that do not belong to the literal's base.
const h = 0x1fg
const b = 0b1021
const ok = 0xff + 0b101
