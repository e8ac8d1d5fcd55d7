"""Typical, correct uses of fastnn's public API (never run; only type-checked).

tests/test_typing.py runs mypy on this file and expects no error: the annotations must accept what
the README and network2.py users write.
"""

from pathlib import Path

import numpy as np

import fastnn
from fastnn.data import expand, load_digits, onehot
from fastnn.sklearn import NetworkClassifier, NetworkRegressor

digits = load_digits(np.float32, seed=1)
(X, y), (Xv, yv), _ = digits
net = fastnn.Network([64, 30, 10], cost=fastnn.CrossEntropyCost, dtype=np.float32, seed=0)
evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = net.SGD(
    (X, y),
    30,
    10,
    0.5,
    lmbda=5.0,
    evaluation_data=(Xv, yv),
    monitor_evaluation_accuracy=True,
    early_stopping=10,
    callback=lambda record: None,
)
pairs = list(zip(list(X), list(onehot(y))))  # network2's list of (x, y) pairs
net.SGD(pairs, 1, 10, 0.5, 0.0, pairs)
fraction: float = net.accuracy(Xv, yv) / len(Xv)
cost: float = net.total_cost(Xv, yv, lmbda=5.0)
labels = net.predict(Xv)
outputs = net.feedforward(Xv)
net.save(Path("net.json"))
net.save("net.json")
again: fastnn.Network = fastnn.load("net.json")
X5, y5 = expand(X, y, (8, 8))
clf = NetworkClassifier(epochs=1).fit(X, y)
probabilities = clf.predict_proba(Xv)
reg = NetworkRegressor(epochs=1).fit(X, X[:, :2])
