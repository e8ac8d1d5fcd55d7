"""The MNIST files: their names, the mirrors that serve them, their checksums and sizes, and the default
directory — one home for what data.py (lookup), download.py (download) and bench/ use. Pure standard
library; re-exported by :mod:`fastnn.data` (``MNIST_FILES``, ``MNIST_MIRROR``, ``DEFAULT_MNIST_DIR``) and
:mod:`fastnn.download` (``MNIST_MIRRORS``, ``mnist_checksums``, ``mnist_sizes``).
"""

from pathlib import Path

__all__ = [
    "DEFAULT_MNIST_DIR",
    "MNIST_FILES",
    "MNIST_MIRROR",
    "MNIST_MIRRORS",
    "mnist_checksums",
    "mnist_sizes",
    "name_variants",
]

#: Canonical (hyphenated, uncompressed) names of the four MNIST files, by role.
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
#: Public mirrors of the four gzipped MNIST files, tried in order.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
#: The first mirror (the one the messages name).
MNIST_MIRROR = MNIST_MIRRORS[0]
#: Where MNIST is looked for when neither ``path`` nor ``$FASTNN_DATA`` is given.
DEFAULT_MNIST_DIR = Path("~/.fastnn/mnist")


def name_variants(name: str):
    """'train-images-idx3-ubyte' -> plain, .gz, dot-variant, dot-variant .gz."""
    stem, _, rest = name.rpartition("-idx")
    dotted = f"{stem}.idx{rest}"
    return (name, name + ".gz", dotted, dotted + ".gz")


def _checksum_lines():
    text = Path(__file__).with_name("mnist.sha256").read_text(encoding="ascii")
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line.split()


def mnist_checksums():
    """{file name (decompressed): SHA-256 hex} from the checksum file shipped in the package."""
    return {fields[1]: fields[0] for fields in _checksum_lines()}


def mnist_sizes():
    """{file name (decompressed): size in bytes} from the checksum file shipped in the package
    (47,040,016 / 60,008 / 7,840,016 / 10,008): no download may exceed its file's size + 1 %."""
    return {fields[1]: int(fields[2]) for fields in _checksum_lines()}
