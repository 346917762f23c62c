# Elementwise chains and a trailing reduction become one loop nest each.
import "nn.td"
dim batch
dim n = 16

fn gelu_scale(x: f32["batch n"], scale: f32["n"]) -> f32["batch n"] {
  return gelu(x * scale + 1) * 0.5
}

fn mean_square(x: f32["batch n"]) -> f32["batch"] {
  return reduce((x - 1) ** 2, "b n -> b", "mean")
}

fn probabilities(x: f32["batch n"]) -> f32["batch n"] {
  return softmax(x)
}
