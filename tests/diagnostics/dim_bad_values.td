# A dim's value must be a positive whole size.
dim zero = 0
dim negative = -3
dim fraction = 2.5
dim ratio = 10 / 4
dim text = "sixteen"
dim kind = f32
dim ok = 6
dim half = ok / 4
