"""A tiny training loop: least squares by gradient descent, in numpy."""
import numpy as np

rng = np.random.default_rng(0)
x = rng.normal(size=(256, 3))
w_true = np.array([1.5, -2.0, 0.5])
y = x @ w_true + 0.01 * rng.normal(size=256)

w = np.zeros(3)
for step in range(200):
    grad = 2 * x.T @ (x @ w - y) / len(y)
    w -= 0.1 * grad
print("learned", np.round(w, 3), "loss", float(np.mean((x @ w - y) ** 2)))
