# Optimizers: known names, known parameters, values in range.
dim d = 8
param w: f32["d"] = zeros()
train a {
  minimize reduce(w * w, "d ->", "sum") with lbfgs(lr = 0.1)
}
train b {
  minimize reduce(w * w, "d ->", "sum") with adam(lr = -0.1, beta1 = 1.0, beta2 = -0.5)
}
train c {
  minimize reduce(w * w, "d ->", "sum") with sgd(lr = 0.1, nesterov = true)
}
train e {
  minimize reduce(w * w, "d ->", "sum") with sgd(lr = 0.1, momentum = 0.9, dampening = 0.1, nesterov = true)
}
train g {
  minimize reduce(w * w, "d ->", "sum") with adamw(lr = 0.1, amsgrad = 1)
}
train h {
  minimize reduce(w * w, "d ->", "sum") with rmsprop(lr = w, centered = false, alpha = true)
}
train i {
  minimize reduce(w * w, "d ->", "sum") with adagrad(learning_rate = 0.1)
}
train j {
  minimize reduce(w * w, "d ->", "sum") with sgd(0.1, 0.9, 0, 0, false, 1)
}
