"""How far a compressed input (an IDX .gz, a .npz's arrays) may decompress: the limits that keep a
crafted header from asking for more memory than the data could hold. Used by the IDX reader
(fastnn/_idx.py) and the .npz reader (fastnn/files.py); re-exported by :mod:`fastnn.data`. Pure standard
library.
"""

import os

__all__ = ["DEFAULT_MAX_DECOMPRESSED", "DEFLATE_MAX_RATIO", "max_decompressed_bytes"]

#: Default of :func:`max_decompressed_bytes`: 4 GiB (MNIST's images are 47 MB).
DEFAULT_MAX_DECOMPRESSED = 4 << 30
#: Deflate cannot expand data by more than ~1032:1; a compressed member or gzip file whose
#: header claims more than this many times its compressed size cannot hold what it claims.
DEFLATE_MAX_RATIO = 1100


def max_decompressed_bytes() -> int:
    """The most bytes one compressed input (an IDX .gz, a .npz's arrays) may decompress to:
    ``FASTNN_MAX_DECOMPRESSED`` from the environment (bytes; suffixes k, M, G allowed), else
    :data:`DEFAULT_MAX_DECOMPRESSED`. A header claiming more is refused before anything is
    decompressed."""
    text = os.environ.get("FASTNN_MAX_DECOMPRESSED", "").strip()
    if not text:
        return DEFAULT_MAX_DECOMPRESSED
    scale = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(text[-1].lower(), 1)
    digits = text[:-1] if scale != 1 else text
    if not digits.isdigit() or len(digits) > 18 or int(digits) * scale < 1:
        raise ValueError(
            f"FASTNN_MAX_DECOMPRESSED: expected a positive number of bytes (e.g. 500M, 8G), got {text!r}"
        )
    return int(digits) * scale
