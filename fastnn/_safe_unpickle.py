"""A safe unpickler for data pickles (network2's ``mnist.pkl.gz``): it reconstructs numpy arrays of
plain numeric dtypes, tuples, lists and numbers — never arbitrary code — and checks every array's
claims (dtype, shape, strides, buffer size) before numpy sees them. Used by
:func:`fastnn.data.load_pickle`. Pure Python + numpy.
"""

import pickle
from typing import ClassVar

import numpy as np

__all__ = ["ArrayUnpickler", "describe", "is_sequence"]

_PICKLE_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


# Plain numeric dtypes are all a data pickle needs; anything else (structured/void/object dtypes,
# fields at arbitrary offsets, odd item sizes) is refused before numpy sees it.
_PICKLE_DTYPE_KINDS = "biuf"


class _Refused(pickle.UnpicklingError):
    pass


def _plain_dtype(obj, what):
    """``obj`` as a plain numeric np.dtype (bool, int, uint, float of a standard size) or _Refused."""
    if isinstance(obj, np.dtype):
        dt = obj
    elif isinstance(obj, (str, bytes)):
        if len(obj) > 8:
            raise _Refused(f"{what}: refusing dtype {obj!r} (only plain numeric dtypes)")
        try:
            dt = np.dtype(obj.decode("latin1") if isinstance(obj, bytes) else obj)
        except (TypeError, ValueError) as exc:
            raise _Refused(f"{what}: bad dtype {obj!r} ({exc})") from None
    else:
        raise _Refused(f"{what}: expected a dtype, got {type(obj).__name__}")
    if (
        dt.kind not in _PICKLE_DTYPE_KINDS
        or dt.names is not None
        or dt.fields is not None
        or dt.subdtype is not None
        or dt.itemsize not in (1, 2, 4, 8)
    ):
        raise _Refused(f"{what}: refusing dtype {dt!r} (only plain numeric dtypes)")
    return dt


def _shape(obj, what):
    if (
        not isinstance(obj, (tuple, list))
        or len(obj) > 32
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in obj)
    ):
        raise _Refused(f"{what}: bad shape {obj!r}")
    return tuple(obj)


def _nbytes(shape, dt):
    n = 1
    for d in shape:
        n *= d
    return n * dt.itemsize


def _buffer_len(buf, what):
    if isinstance(buf, str):  # Python 2 str read with encoding="latin1": one byte per char
        return len(buf)
    try:
        return memoryview(buf).nbytes
    except TypeError:
        raise _Refused(f"{what}: expected a bytes buffer, got {type(buf).__name__}") from None


class ArrayUnpickler(pickle._Unpickler):
    """Unpickler that only reconstructs numpy arrays of plain numeric dtypes (plus tuples, lists and
    numbers), never arbitrary code.

    The pure-Python unpickler is used so that every call (REDUCE, NEWOBJ) and every ``__setstate__``
    (BUILD) of an allowed global is checked before numpy sees its arguments: dtypes must be plain
    numeric ones (a crafted dtype state with fields at huge offsets crashed numpy), and an array's
    data must really be in the file (no buffer smaller than the shape, no zero or odd strides, no
    large allocation without data)."""

    dispatch: ClassVar[dict] = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, *, encoding, limit):
        super().__init__(file, encoding=encoding)
        self._limit = limit  # no array may need more bytes than the pickle itself holds

    def find_class(self, module, name):
        if (module, name) not in _PICKLE_ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name} (only numpy arrays are allowed in a data pickle)"
            )
        if module.startswith("numpy.core.") and hasattr(np, "_core"):  # NumPy >= 2: avoid the shim
            module = "numpy._core." + module[len("numpy.core.") :]
        elif module.startswith("numpy._core.") and not hasattr(np, "_core"):  # NumPy 1.x
            module = "numpy.core." + module[len("numpy._core.") :]
        return super().find_class(module, name)

    # ---- checks --------------------------------------------------------------------------------
    def _check_call(self, func, args, kwargs):
        name = getattr(func, "__name__", repr(func))
        if func is np.dtype:
            if kwargs or not 1 <= len(args) <= 3:
                raise _Refused("numpy.dtype: unexpected arguments")
            _plain_dtype(args[0], "numpy.dtype")
        elif func is np.ndarray:
            self._check_ndarray_new(args, kwargs)
        elif name == "_reconstruct":
            if kwargs or len(args) != 3 or args[0] is not np.ndarray:
                raise _Refused("_reconstruct: only plain numpy.ndarray is allowed")
            shape = _shape(args[1], "_reconstruct")
            if _nbytes(shape, np.dtype(np.uint8)) > self._limit:
                raise _Refused(f"_reconstruct: shape {shape} needs more memory than the file holds")
        elif name == "_frombuffer":
            if kwargs or len(args) != 4:
                raise _Refused("_frombuffer: unexpected arguments")
            buf, dt, shape = args[0], _plain_dtype(args[1], "_frombuffer"), _shape(args[2], "_frombuffer")
            if _buffer_len(buf, "_frombuffer") != _nbytes(shape, dt):
                raise _Refused(
                    f"_frombuffer: buffer of {_buffer_len(buf, '_frombuffer')} bytes does "
                    f"not hold shape {shape} of {dt}"
                )
        elif name == "scalar":
            if kwargs or len(args) != 2:
                raise _Refused("scalar: unexpected arguments")
            dt = _plain_dtype(args[0], "scalar")
            if _buffer_len(args[1], "scalar") != dt.itemsize:
                raise _Refused(f"scalar: expected {dt.itemsize} bytes for {dt}")
        elif name == "encode":
            if kwargs or not (1 <= len(args) <= 2) or not isinstance(args[0], str):
                raise _Refused("_codecs.encode: unexpected arguments")
        else:  # pragma: no cover - find_class allows nothing else
            raise _Refused(f"refusing to call {name}")

    def _check_ndarray_new(self, args, kwargs):
        names = ("shape", "dtype", "buffer", "offset", "strides", "order")
        if len(args) > len(names) or set(kwargs) - set(names):
            raise _Refused("numpy.ndarray: unexpected arguments")
        a = dict(zip(names, args))
        if set(a) & set(kwargs):
            raise _Refused("numpy.ndarray: argument given twice")
        a.update(kwargs)
        shape = a.get("shape")
        shape = _shape((shape,) if isinstance(shape, int) else shape, "numpy.ndarray")
        dt = _plain_dtype(np.dtype(np.float64) if a.get("dtype") is None else a["dtype"], "numpy.ndarray")
        need = _nbytes(shape, dt)
        buf = a.get("buffer")
        if buf is None:
            if need > self._limit:
                raise _Refused(
                    f"numpy.ndarray: shape {shape} needs {need} bytes but the file holds only {self._limit}"
                )
            return
        offset = a.get("offset") or 0
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise _Refused(f"numpy.ndarray: bad offset {offset!r}")
        have = _buffer_len(buf, "numpy.ndarray") - offset
        if have < need:
            raise _Refused(
                f"numpy.ndarray: shape {shape} of {dt} needs {need} bytes but its buffer holds {max(have, 0)}"
            )
        strides = a.get("strides")
        if strides is not None:
            ok = (
                isinstance(strides, (tuple, list))
                and len(strides) == len(shape)
                and tuple(strides)
                in (
                    _contiguous_strides(shape, dt.itemsize, "C"),
                    _contiguous_strides(shape, dt.itemsize, "F"),
                )
            )
            if not ok:
                raise _Refused(
                    f"numpy.ndarray: strides {strides!r:.100} are not the C or Fortran "
                    f"strides of shape {shape}"
                )

    def _check_build(self, inst, state):
        if isinstance(inst, np.dtype):
            _plain_dtype(inst, "numpy.dtype")
            if (
                not isinstance(state, tuple)
                or len(state) not in (8, 9)
                or state[0] not in (3, 4)
                or state[1] not in ("<", ">", "|", "=")
                or state[2:5] != (None, None, None)
                or state[5] not in (-1, inst.itemsize)
                or state[6] not in (-1, inst.alignment)
                or state[7] != 0
                or (len(state) == 9 and state[8] is not None and not isinstance(state[8], dict))
            ):
                raise _Refused(
                    f"numpy.dtype: refusing the state {state!r:.200} of a {inst} dtype "
                    f"(only plain numeric dtypes)"
                )
        elif type(inst) is np.ndarray:
            if not isinstance(state, tuple) or len(state) not in (4, 5):
                raise _Refused("numpy.ndarray: bad state")
            shape, dt, fortran, raw = state[-4:]
            shape = _shape(shape, "numpy.ndarray state")
            dt = _plain_dtype(dt, "numpy.ndarray state")
            if not isinstance(fortran, (bool, int)):
                raise _Refused("numpy.ndarray: bad state")
            need = _nbytes(shape, dt)
            if isinstance(raw, list) or _buffer_len(raw, "numpy.ndarray state") != need:
                raise _Refused(
                    f"numpy.ndarray: shape {shape} of {dt} needs {need} bytes, the "
                    f"pickled data has a different size"
                )
        else:
            raise _Refused(f"refusing to set the state of a {type(inst).__name__}")

    # ---- opcodes that call or set state: checked, then done as usual ---------------------------
    def load_reduce(self):
        self._check_call(self.stack[-2], self.stack[-1], {})
        pickle._Unpickler.load_reduce(self)

    dispatch[pickle.REDUCE[0]] = load_reduce  # pickle's private table

    def load_newobj(self):
        self._check_call(self.stack[-2], self.stack[-1], {})
        pickle._Unpickler.load_newobj(self)

    dispatch[pickle.NEWOBJ[0]] = load_newobj  # pickle's private table

    def load_newobj_ex(self):
        kwargs = self.stack[-1]
        if not isinstance(kwargs, dict):
            raise _Refused("NEWOBJ_EX: bad keyword arguments")
        self._check_call(self.stack[-3], self.stack[-2], kwargs)
        pickle._Unpickler.load_newobj_ex(self)

    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex  # pickle's private table

    def load_build(self):
        self._check_build(self.stack[-2], self.stack[-1])
        pickle._Unpickler.load_build(self)

    dispatch[pickle.BUILD[0]] = load_build  # pickle's private table


def _contiguous_strides(shape, itemsize, order):
    strides = [0] * len(shape)
    step = itemsize
    dims = range(len(shape) - 1, -1, -1) if order == "C" else range(len(shape))
    for i in dims:
        strides[i] = step
        step *= max(shape[i], 1)
    return tuple(strides)


def is_sequence(obj, n):
    """A tuple or list of n items (how pickled MNIST files hold their parts)."""
    return isinstance(obj, (tuple, list)) and len(obj) == n


def describe(obj):
    """What a pickled part is, for messages: 'list of length 2', 'array of shape (3,)', 'dict'."""
    if isinstance(obj, np.ndarray):
        return f"array of shape {obj.shape}"
    if isinstance(obj, (tuple, list)):
        return f"{type(obj).__name__} of length {len(obj)}"
    return type(obj).__name__
