# A constant cast to a narrow integer dtype must fit in that dtype.
const a = 5e9 as i32
const b = 70000.0 as u16
const c = (-1.0) as u16
const d = 100000 as u16
const ok = 65535.0 as u16
