# Every optimizer with its arguments.
dim d = 8
param w: f32["d"] = zeros()
train plain {
  minimize reduce(w * w, "d ->", "sum") with sgd()
}
train with_momentum {
  minimize reduce(w * w, "d ->", "sum") with sgd(lr = 0.1, momentum = 0.9, dampening = 0, weight_decay = 1e-4, nesterov = true)
}
train positional {
  minimize reduce(w * w, "d ->", "sum") with sgd(0.1, 0.5)
}
train adam_default {
  minimize reduce(w * w, "d ->", "sum") with adam()
}
train adam_all {
  minimize reduce(w * w, "d ->", "sum") with adam(lr = 3e-4, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0, amsgrad = false)
}
train adamw_all {
  minimize reduce(w * w, "d ->", "sum") with adamw(lr = 1e-3, beta1 = 0.85, beta2 = 0.95, eps = 1e-6, weight_decay = 0.1, amsgrad = true)
}
train adagrad_all {
  minimize reduce(w * w, "d ->", "sum") with adagrad(lr = 0.01, lr_decay = 0, weight_decay = 0, eps = 1e-10, initial_accumulator_value = 0.1)
}
train rmsprop_all {
  minimize reduce(w * w, "d ->", "sum") with rmsprop(lr = 0.01, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0.9, centered = true)
}
