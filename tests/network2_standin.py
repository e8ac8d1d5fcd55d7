"""A stand-in for the parts of Nielsen's network2.py that the port test touches, written here from
the book's equations with network2's interface: column vectors, cost classes with ``fn(a, y)`` and
``delta(z, a, y)``, ``accuracy(data, convert)``, ``total_cost(data, lmbda, convert)`` and ``load``.
It is an independent implementation to check fastnn's numbers against (not fastnn code)."""

import json

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def vectorized_result(j):
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e


class QuadraticCost:
    @staticmethod
    def fn(a, y):
        return 0.5 * np.linalg.norm(a - y) ** 2  # C = ½‖a − y‖²

    @staticmethod
    def delta(z, a, y):
        return (a - y) * sigmoid_prime(z)  # BP1 with σ'


class CrossEntropyCost:
    @staticmethod
    def fn(a, y):
        return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))  # eq. 63

    @staticmethod
    def delta(z, a, y):
        return a - y  # eq. 66


class Network:
    def __init__(self, sizes, weights, biases, cost=CrossEntropyCost):
        self.sizes, self.weights, self.biases, self.cost = sizes, weights, biases, cost

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def accuracy(self, data, convert=False):
        if convert:
            results = [(np.argmax(self.feedforward(x)), np.argmax(y)) for x, y in data]
        else:
            results = [(np.argmax(self.feedforward(x)), y) for x, y in data]
        return sum(int(x == y) for x, y in results)

    def total_cost(self, data, lmbda, convert=False):
        cost = 0.0
        for x, y in data:
            a = self.feedforward(x)
            if convert:
                y = vectorized_result(y)
            cost += self.cost.fn(a, y) / len(data)
        cost += 0.5 * (lmbda / len(data)) * sum(np.linalg.norm(w) ** 2 for w in self.weights)
        return cost


def load(filename):
    with open(filename) as f:
        data = json.load(f)
    cost = {"CrossEntropyCost": CrossEntropyCost, "QuadraticCost": QuadraticCost}[data["cost"]]
    return Network(
        data["sizes"],
        [np.array(w) for w in data["weights"]],
        [np.array(b) for b in data["biases"]],
        cost=cost,
    )
