"""Take a trained network anywhere: ONNX export and PyTorch interop::

    to_onnx(net, path=None, *, opset=None, probabilities=True, dtype=None)  -> onnx.ModelProto  (fastnn[onnx])
    to_torch(net)                                               -> torch.nn.Sequential
    from_torch(module, cost=None)                               -> fastnn.Network

Neither ``onnx`` nor ``torch`` is a dependency of fastnn: each is imported only inside the function
that needs it, and a missing one raises ``ImportError`` with the command that installs it.

The ONNX graph is the feedforward pass of chapter 3, layer by layer: z = W a + b as a ``Gemm`` with the
weights as stored ((n_out, n_in), ``transB=1``), then a = σ(z) (``Sigmoid``, ``Tanh`` or ``Relu`` in the
hidden layers; ``Sigmoid``, ``Softmax`` on axis 1, or nothing for a linear output layer). The input ``X``
has a dynamic batch dimension and the network's dtype (or ``dtype=``'s: a float64 network exported
as float32 for ONNX Runtime callers that feed float32). Outputs:

- the activations aᴸ, equal to ``net.feedforward(X)``, named for what they are: ``probabilities``
  for a softmax output layer (rows sum to 1), ``activations`` for a sigmoid one (each output in
  (0, 1) on its own; rows do not sum to 1), ``output`` for a linear one;
- ``label`` (int64): ``net.predict``'s rule, the ArgMax over the output layer's weighted input zᴸ (for
  a single sigmoid output, ``zᴸ ≥ 0`` as 0/1) — so it equals ``predict`` even where saturated outputs
  tie at 1.0.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from ._vocabulary import HIDDEN, OUTPUT_COSTS

if TYPE_CHECKING:
    from ._typing import PathLike
    from .network import Network

__all__ = ["ACTIVATIONS_NAME", "DEFAULT_OPSET", "MIN_OPSET", "from_torch", "to_onnx", "to_torch"]

#: ONNX opset used unless told otherwise (ONNX Runtime >= 1.13 runs it)
DEFAULT_OPSET = 17
#: the oldest opset the exporter can target (Softmax over one axis, ReduceSum axes as an input)
MIN_OPSET = 13

ONNX_MISSING = 'ONNX export needs the onnx package: pip install "fastnn[onnx]"'
TORCH_MISSING = "PyTorch interop needs torch (not a fastnn dependency): pip install torch"


# --------------------------------------------------------------------------------------------------
# lazy imports
# --------------------------------------------------------------------------------------------------
def _import_onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as e:
        raise ImportError(f"{ONNX_MISSING} ({e})") from e
    return onnx, helper, numpy_helper


def _import_torch():
    try:
        import torch
    except ImportError as e:
        raise ImportError(f"{TORCH_MISSING} ({e})") from e
    return torch


def _check_network(net, name="net"):
    from .network import Network

    if not isinstance(net, Network):
        raise TypeError(f"{name}: expected a fastnn.Network, got {type(net).__name__}")
    return net


# --------------------------------------------------------------------------------------------------
# ONNX
# --------------------------------------------------------------------------------------------------
def _resolve_opset(opset, onnx):
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return min(DEFAULT_OPSET, newest)
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset: expected an integer, got {type(opset).__name__}")
    if not MIN_OPSET <= int(opset) <= newest:
        raise ValueError(
            f"opset: expected an integer in [{MIN_OPSET}, {newest}] (the installed onnx "
            f"{onnx.__version__} knows opsets up to {newest}), got {opset}"
        )
    return int(opset)


class _Graph:
    """A small helper around onnx.helper: unique names, nodes and constant initializers."""

    def __init__(self, helper, numpy_helper):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.initializers = [], []

    def const(self, name, array):
        self.initializers.append(self.numpy_helper.from_array(np.asarray(array), name=name))
        return name

    def node(self, op, inputs, output, **attrs):
        self.nodes.append(self.helper.make_node(op, list(inputs), [output], name=f"{op}_{output}", **attrs))
        return output


def _feedforward_nodes(g, net):
    """Gemm + activation per layer; returns (zᴸ, aᴸ) tensor names."""
    L = len(net.weights)
    a = "X"
    z = None
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        layer = l + 1
        W = g.const(f"W{layer}", np.ascontiguousarray(w))
        B = g.const(f"b{layer}", np.ascontiguousarray(b))
        z = g.node("Gemm", [a, W, B], f"z{layer}", transB=1)
        kind = net.hidden if layer < L else net.output
        op = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "softmax": "Softmax", "linear": None}[
            kind
        ]
        if op is None:
            a = z
        elif op == "Softmax":
            a = g.node(op, [z], f"a{layer}", axis=1)
        else:
            a = g.node(op, [z], f"a{layer}")
    return z, a


def _label_nodes(g, net, z, name="label"):
    """predict's rule on zᴸ: ArgMax over the outputs; one sigmoid output: zᴸ ≥ 0 as 0/1 (int64)."""
    if net.sizes[-1] == 1 and net.output == "sigmoid":
        zero = g.const("zero", np.zeros((), dtype=net.dtype))
        ge = g.node("GreaterOrEqual", [z, zero], "z_nonnegative")
        flat = g.const("flat_shape", np.array([-1], dtype=np.int64))
        as_int = g.node("Cast", [ge], "z_nonnegative_int64", to=7)  # TensorProto.INT64
        return g.node("Reshape", [as_int, flat], name)
    return g.node("ArgMax", [z], name, axis=1, keepdims=0, select_last_index=0)


def _metadata(net, extra=None):
    from ._version import __version__

    cost = net.cost.name
    if cost == "custom":  # a user's network2-style cost class (fastnn.costs.UserCost)
        cost = f"custom:{net.cost.__name__}"
    meta = {
        "sizes": json.dumps([int(s) for s in net.sizes]),
        "cost": cost,
        "output": net.output,
        "hidden": net.hidden,
        "dtype": np.dtype(net.dtype).name,
        "fastnn_version": __version__,
    }
    meta.update(extra or {})
    return meta


def _build_model(net, g, outputs, opset, onnx, helper, metadata, doc):
    """Wrap the graph g into a checked ModelProto; outputs = [(name, elem_type, shape)]."""
    from ._version import __version__

    elem = helper.np_dtype_to_tensor_dtype(np.dtype(net.dtype))
    graph = helper.make_graph(
        g.nodes,
        "fastnn_network",
        [helper.make_tensor_value_info("X", elem, ["N", int(net.sizes[0])])],
        [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
        initializer=g.initializers,
        doc_string=doc,
    )
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(
        graph, opset_imports=opsets, producer_name="fastnn", producer_version=__version__, doc_string=doc
    )
    model.ir_version = helper.find_min_ir_version_for(opsets)
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model, full_check=True)
    return model


def _write(model, path):
    from ._output_files import atomic_write_bytes

    atomic_write_bytes(path, model.SerializeToString())


#: the name of the activations output of to_onnx, by output layer
ACTIVATIONS_NAME = {"softmax": "probabilities", "sigmoid": "activations", "linear": "output"}


def _as_dtype(net, dtype):
    """``net`` itself, or a copy in ``dtype`` (float32/float64) with its parameters converted."""
    from ._vocabulary import resolve_dtype
    from .network import Network

    if dtype is None or resolve_dtype(dtype) == np.dtype(net.dtype):
        return net
    dtype = resolve_dtype(dtype)
    copy = Network(list(net.sizes), cost=net.cost, output=net.output, hidden=net.hidden, dtype=dtype, seed=0)
    with np.errstate(over="raise"):
        try:
            copy.weights = [np.asarray(w, dtype=dtype) for w in net.weights]
            copy.biases = [np.asarray(b, dtype=dtype) for b in net.biases]
        except FloatingPointError:
            raise ValueError(f"dtype: a parameter of the network overflows {dtype.name}") from None
    return copy


def to_onnx(
    net: Network,
    path: PathLike | None = None,
    *,
    opset: int | None = None,
    probabilities: bool = True,
    dtype: Any = None,
) -> Any:
    """The network as an ONNX model (and written to ``path``, atomically, when given).

    Parameters
    ----------
    net : fastnn.Network
    path : str or path-like, optional
        Where to write the ``.onnx`` file (temp file + rename, like ``Network.save``).
    opset : int, optional
        ONNX opset, in [MIN_OPSET, the installed onnx's newest]; default DEFAULT_OPSET (17).
    probabilities : bool, default True
        Also output the activations aᴸ (named ``probabilities`` for a softmax output layer,
        ``activations`` for a sigmoid one, whose rows do not sum to 1, ``output`` for a linear one:
        :data:`ACTIVATIONS_NAME`); False: only ``label``.
    dtype : {"float32", "float64"}, optional
        The graph's dtype (input, parameters, outputs); default the network's. A float64 network
        exported as float32 serves callers that feed float32 (ONNX Runtime refuses a float32 ``X``
        for a float64 graph); its outputs then match ``feedforward`` to float32 precision, and
        ``label`` may differ from ``predict`` where two outputs' z are within float32 rounding.

    Returns
    -------
    onnx.ModelProto
        Input ``X`` (N, sizes[0]) in the graph's dtype; outputs [``probabilities``|``activations``|
        ``output``,] ``label`` (int64, ``net.predict``'s rule). ``metadata_props`` hold sizes,
        cost, output, hidden, dtype, fastnn_version and the model's ``classes`` (JSON) when it has
        them (``label`` k is ``classes[k]``). ``onnx.checker.check_model`` has passed on it.
    """
    onnx, helper, numpy_helper = _import_onnx()
    _check_network(net)
    opset = _resolve_opset(opset, onnx)
    classes = getattr(net, "classes", None)
    net = _as_dtype(net, dtype)
    g = _Graph(helper, numpy_helper)
    z, a = _feedforward_nodes(g, net)
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(net.dtype))
    outputs = []
    if probabilities:
        name = ACTIVATIONS_NAME[net.output]
        g.node("Identity", [a], name)
        outputs.append((name, elem, ["N", int(net.sizes[-1])]))
    _label_nodes(g, net, z)
    outputs.append(("label", onnx.TensorProto.INT64, ["N"]))
    doc = (
        f"fastnn {net!r}: X -> {' -> '.join(o[0] for o in outputs)}; label = argmax of the "
        f"output layer's weighted input z (one sigmoid output: z >= 0)"
    )
    extra = None if classes is None else {"classes": json.dumps(list(classes))}
    model = _build_model(net, g, outputs, opset, onnx, helper, _metadata(net, extra), doc)
    if path is not None:
        _write(model, path)
    return model


def _classes_tensor(classes):
    """classes_ as an array ONNX can hold (strings, integers, floats or booleans)."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "US":
        return classes.astype(object).astype(str).astype(object)
    if classes.dtype.kind == "O":
        if all(isinstance(c, str) for c in classes):
            return classes.astype(str).astype(object)
        if all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in classes):
            return classes.astype(np.int64)
        if all(isinstance(c, (float, np.floating, int, np.integer)) for c in classes):
            return classes.astype(np.float64)
        raise TypeError(
            f"classes_: cannot export labels of mixed or unsupported types to ONNX "
            f"({sorted({type(c).__name__ for c in classes})})"
        )
    if classes.dtype.kind in "iubf":
        return classes
    raise TypeError(f"classes_: cannot export labels of dtype {classes.dtype} to ONNX")


def estimator_to_onnx(estimator: Any, path: PathLike | None = None, *, opset: int | None = None) -> Any:
    """ONNX model of a fitted ``NetworkClassifier`` / ``NetworkRegressor`` (see their ``to_onnx``).

    Classifier: outputs ``probabilities`` (= ``predict_proba``) and ``label`` (= ``predict``: the
    ``classes_`` value at the ArgMax of zᴸ). Regressor: output ``output`` (= ``predict``, 1-D for 1-D
    training targets)."""
    from sklearn.base import is_classifier
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    onnx, helper, numpy_helper = _import_onnx()
    net = estimator.network_
    opset = _resolve_opset(opset, onnx)
    g = _Graph(helper, numpy_helper)
    z, a = _feedforward_nodes(g, net)
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(net.dtype))
    extra = {"estimator": type(estimator).__name__}
    if is_classifier(estimator):
        if net.output == "softmax":
            g.node("Identity", [a], "probabilities")
        elif net.output == "linear":  # predict_proba: softmax of the linear outputs
            g.node("Softmax", [a], "probabilities", axis=1)
        else:  # sigmoid: normalized to sum to one
            tiny = g.const("tiny", np.array(np.finfo(net.dtype).tiny, dtype=net.dtype))
            clipped = g.node("Max", [a, tiny], "a_clipped")
            axes = g.const("class_axis", np.array([1], dtype=np.int64))
            total = g.node("ReduceSum", [clipped, axes], "a_sum", keepdims=1)
            g.node("Div", [clipped, total], "probabilities")
        classes = _classes_tensor(estimator.classes_)
        index = g.node("ArgMax", [z], "label_index", axis=1, keepdims=0, select_last_index=0)
        table = g.const("classes", classes)
        g.node("Gather", [table, index], "label", axis=0)
        label_type = (
            onnx.TensorProto.STRING
            if classes.dtype == object
            else helper.np_dtype_to_tensor_dtype(classes.dtype)
        )
        outputs = [("probabilities", elem, ["N", int(net.sizes[-1])]), ("label", label_type, ["N"])]
        extra["classes"] = json.dumps([c.item() if hasattr(c, "item") else c for c in classes])
    else:
        if getattr(estimator, "_y_1d", False):
            flat = g.const("flat_shape", np.array([-1], dtype=np.int64))
            g.node("Reshape", [a, flat], "output")
            outputs = [("output", elem, ["N"])]
        else:
            g.node("Identity", [a], "output")
            outputs = [("output", elem, ["N", int(net.sizes[-1])])]
    doc = (
        f"fastnn {type(estimator).__name__} ({net!r}): X -> "
        f"{', '.join(o[0] for o in outputs)}; X is the estimator's input, any preprocessing "
        f"(scaling, encoding) done before it is not part of this model"
    )
    model = _build_model(net, g, outputs, opset, onnx, helper, _metadata(net, extra), doc)
    if path is not None:
        _write(model, path)
    return model


# --------------------------------------------------------------------------------------------------
# PyTorch
# --------------------------------------------------------------------------------------------------
def _torch_dtype(torch, dtype):
    return {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}[np.dtype(dtype)]


def to_torch(net: Network) -> Any:
    """The network as a PyTorch module computing ``net.feedforward``.

    Parameters
    ----------
    net : fastnn.Network

    Returns
    -------
    torch.nn.Sequential
        ``Linear`` layers holding copies of the weights (same (n_out, n_in) layout) and biases in the
        network's dtype, each followed by its activation (``Sigmoid``, ``Tanh``, ``ReLU``; a softmax
        output as ``Softmax(dim=1)``, nothing for a linear output), in eval mode.
    """
    torch = _import_torch()
    _check_network(net)
    nn = torch.nn
    dtype = _torch_dtype(torch, net.dtype)
    L = len(net.weights)
    layers = []
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        n_out, n_in = w.shape
        lin = nn.Linear(n_in, n_out, dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.array(w)))
            lin.bias.copy_(torch.from_numpy(np.array(b)))
        layers.append(lin)
        kind = net.hidden if l < L - 1 else net.output
        if kind == "sigmoid":
            layers.append(nn.Sigmoid())
        elif kind == "tanh":
            layers.append(nn.Tanh())
        elif kind == "relu":
            layers.append(nn.ReLU())
        elif kind == "softmax":
            layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers).eval()


def _flatten(torch, module, prefix=""):
    """(name, module) of a Sequential's leaves (nested Sequentials flattened)."""
    for name, child in module.named_children():
        full = f"{prefix}{name}"
        if isinstance(child, torch.nn.Sequential):
            yield from _flatten(torch, child, full + ".")
        else:
            yield full, child


def from_torch(module: Any, cost: Any = None) -> Network:
    """A ``fastnn.Network`` from a ``torch.nn.Sequential`` of ``Linear`` layers and activations.

    Accepted: ``Linear``, then after every hidden ``Linear`` one activation (the same kind in every
    hidden layer, as in fastnn): ``Sigmoid``, ``Tanh`` or ``ReLU``; after the last ``Linear``,
    optionally ``Sigmoid`` (sigmoid output), ``Softmax(dim=1)`` or ``LogSoftmax(dim=1)`` (softmax
    output; the fastnn network outputs probabilities, the exponential of LogSoftmax's). A trailing
    ``Linear`` (logits) becomes a softmax output when ``cost="log-likelihood"`` (what
    ``CrossEntropyLoss`` trains) and a linear output otherwise. ``Identity`` and ``Dropout`` (identities at
    inference) are skipped; nested ``Sequential``s are flattened. Any other module is refused with a
    ``ValueError`` naming it.

    Parameters
    ----------
    module : torch.nn.Sequential
    cost : str or fastnn cost class, optional
        The cost to attach; default: cross-entropy for a sigmoid output, log-likelihood for softmax,
        quadratic for a linear output.

    Returns
    -------
    fastnn.Network
        With copies of the weights and biases (a ``Linear`` without bias gets zero biases), in the
        layers' dtype (float32 or float64).

    Raises
    ------
    TypeError
        ``module`` is not a ``Sequential``.
    ValueError
        A module fastnn cannot represent (named with its index), mixed hidden activations, mixed or
        unsupported dtypes, or a cost that does not fit the output layer.
    """
    torch = _import_torch()
    from .costs import resolve_cost
    from .network import Network

    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise TypeError(
            f"module: expected a torch.nn.Sequential of Linear layers and activations, "
            f"got {type(module).__name__}"
        )
    cost_cls = None if cost is None else resolve_cost(cost)
    hidden_kinds = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu"}
    supported = "Linear, Sigmoid, Tanh, ReLU, Softmax(dim=1), LogSoftmax(dim=1), Dropout, Identity"

    linears: list[tuple[str, Any]] = []  # (name, Linear)
    acts: list[tuple[str, str] | None] = []  # activation after each Linear: (name, kind) or None
    for name, child in _flatten(torch, module):
        where = f"module[{name}] ({child!r})"
        if isinstance(child, (nn.Identity, nn.Dropout)):
            continue
        if isinstance(child, nn.Linear):
            if linears and acts[-1] is None:
                raise ValueError(
                    f"from_torch: {where} follows another Linear without an "
                    f"activation; fastnn needs one activation between Linear layers"
                )
            linears.append((name, child))
            acts.append(None)
            continue
        if type(child) in hidden_kinds:
            kind = hidden_kinds[type(child)]
        elif isinstance(child, (nn.Softmax, nn.LogSoftmax)):
            if child.dim not in (1, -1):
                raise ValueError(
                    f"from_torch: {where}: only dim=1 (over the outputs of each row) "
                    f"is supported, got dim={child.dim}"
                )
            kind = "logsoftmax" if isinstance(child, nn.LogSoftmax) else "softmax"
        else:
            raise ValueError(f"from_torch: unsupported module {where}; fastnn maps {supported}")
        if not linears:
            raise ValueError(f"from_torch: {where} comes before the first Linear layer")
        if acts[-1] is not None:
            raise ValueError(
                f"from_torch: {where} follows another activation "
                f"({acts[-1][1]}); expected one activation per Linear layer"
            )
        acts[-1] = (name, kind)
    if not linears:
        raise ValueError("from_torch: the Sequential holds no Linear layer")

    hidden_names = set()
    for act, (lname, _) in zip(acts[:-1], linears[:-1]):
        assert act is not None  # a Linear right after a Linear was refused above
        name, kind = act
        if kind not in HIDDEN:
            raise ValueError(
                f"from_torch: module[{name}] ({kind}) after the hidden layer "
                f"module[{lname}]: hidden layers need Sigmoid, Tanh or ReLU"
            )
        hidden_names.add(kind)
    if len(hidden_names) > 1:
        raise ValueError(
            f"from_torch: the hidden layers mix activations {sorted(hidden_names)}; a "
            f"fastnn network uses one hidden activation throughout"
        )
    hidden = hidden_names.pop() if hidden_names else "sigmoid"

    last_name, last_kind = acts[-1] if acts[-1] is not None else (None, None)
    if last_kind in ("tanh", "relu"):
        raise ValueError(
            f"from_torch: module[{last_name}] ({last_kind}) after the last Linear: the "
            f"output layer can be Sigmoid, Softmax(dim=1), LogSoftmax(dim=1) or none "
            f"(logits)"
        )
    if last_kind in ("softmax", "logsoftmax"):
        output = "softmax"
    elif last_kind == "sigmoid":
        output = "sigmoid"
    elif cost_cls is not None and cost_cls.name == "log-likelihood":
        output = "softmax"  # logits trained with CrossEntropyLoss
    else:
        output = "linear"
    if cost_cls is None:
        cost_cls = resolve_cost(_default_cost(output))
    if output not in cost_cls.outputs:
        what = "logits (a trailing Linear)" if last_kind is None else f"a trailing {last_kind}"
        raise ValueError(
            f"from_torch: cost={cost_cls.name!r} cannot be used with {what}, which maps to "
            f"a {output} output; valid: cost='log-likelihood' for softmax, "
            f"'cross-entropy' or 'quadratic' for sigmoid, 'quadratic' for linear "
            f"(default for this module: {_default_cost(output)!r})"
        )

    dtypes = {lin.weight.dtype for _, lin in linears}
    if len(dtypes) != 1 or next(iter(dtypes)) not in (torch.float32, torch.float64):
        raise ValueError(
            f"from_torch: Linear weights must all be float32 or all float64, got "
            f"{sorted(str(d) for d in dtypes)}"
        )
    dtype = np.float64 if next(iter(dtypes)) == torch.float64 else np.float32
    sizes = [int(linears[0][1].in_features)]
    for name, lin in linears:
        if lin.in_features != sizes[-1]:
            raise ValueError(
                f"from_torch: module[{name}] ({lin!r}) takes {lin.in_features} inputs "
                f"but the layer before has {sizes[-1]} outputs"
            )
        sizes.append(int(lin.out_features))
    net = Network(sizes, cost=cost_cls, output=output, hidden=hidden, dtype=dtype)
    weights, biases = [], []
    for _, lin in linears:
        weights.append(lin.weight.detach().cpu().numpy().copy())
        biases.append(
            np.zeros(lin.out_features, dtype=dtype)
            if lin.bias is None
            else lin.bias.detach().cpu().numpy().copy()
        )
    net.weights = weights
    net.biases = biases
    return net


def _default_cost(output):
    return OUTPUT_COSTS[output]
