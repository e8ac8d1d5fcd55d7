"""The book's equations in plain numpy: the oracle the compiled core is tested against.

Written to be read next to chapters 2 and 3 of Nielsen's *Neural Networks and Deep Learning*,
like his network2.py, but matrix-based: one product per layer per mini-batch, one example per row
(so zˡ = aˡ⁻¹ Wˡᵀ + bˡ for a batch of rows). Not the product: slow, allocates freely, no checks.

The code lives in :mod:`fastnn._numpy_network` (read it there), because the same equations also train
a cost class of the user's own (:mod:`fastnn._user_cost_step`): one copy of the math, and product code
never imports this module (tests/test_import_graph.py). Pure numpy: nothing compiled, no data module.
"""

from ._numpy_network import ACTIVATIONS, onehot, sigmoid, sigmoid_prime, softmax
from ._numpy_network import NumpyNetwork as ReferenceNetwork

__all__ = ["ACTIVATIONS", "ReferenceNetwork", "onehot", "sigmoid", "sigmoid_prime", "softmax"]
