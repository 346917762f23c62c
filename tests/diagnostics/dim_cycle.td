# Dims defined in terms of each other.
dim a = b * 2
dim b = a / 2
dim c = c
