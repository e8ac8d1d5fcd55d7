"""Deliberately mistyped calls of fastnn's public API (never run; only type-checked).

tests/test_typing.py runs mypy on this file: every line marked ``# E: <error code>`` must be reported
with that code, and no other line may be. The annotations of fastnn and the stub of its compiled core
(fastnn/_core.pyi) are what make mypy see these mistakes.
"""

from pathlib import Path

import numpy as np

import fastnn
from fastnn import _core
from fastnn.data import load_digits, onehot
from fastnn.sklearn import NetworkClassifier

X = np.zeros((10, 64))
y = np.zeros(10, dtype=np.intp)
net = fastnn.Network([64, 30, 10])

net.SGD("x", 30, 10, 0.5)  # E: arg-type
net.SGD((X, y), "30", 10, 0.5)  # E: arg-type
net.SGD((X, y), 30, 10.5, 0.5)  # E: arg-type
net.SGD((X, y), 30, 10, 0.5, lmbda=None)  # E: arg-type
net.SGD((X, y), 30, 10, 0.5, early_stopping="yes")  # E: arg-type
net.SGD((X, y), 30, 10, 0.5, not_an_option=1)  # E: call-arg
correct: str = net.accuracy(X, y)  # E: assignment
cost: int = net.total_cost(X, y)  # E: assignment
fastnn.Network("784,30,10")  # E: arg-type
fastnn.Network([784, 30, 10], seed="0")  # E: arg-type
net.save(42)  # E: arg-type
fastnn.load(None)  # E: arg-type
load_digits(n_test="300")  # E: arg-type
onehot(y, n_classes="10")  # E: arg-type
NetworkClassifier().fit(X)  # E: call-arg
_core.evaluate("layout", X, X)  # E: arg-type
Path(net.predict(X))  # E: arg-type
