"""`fastnn download mnist --mirror DIR` (issue #24): a plain local directory holding the four .gz
files is a mirror (it was "unknown url type")."""

import pytest

from fastnn import cli
from fastnn.data import find_mnist


@pytest.mark.slow  # verifies the 55 MB of MNIST
def test_mirror_may_be_a_directory(mnist_dir, tmp_path, capsys):
    if not all(
        (mnist_dir / f"{n}.gz").is_file() for n in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    ):
        pytest.skip("the shared MNIST directory does not hold the .gz files")
    code = cli.main(["download", "mnist", "--dir", str(tmp_path / "m"), "--mirror", str(mnist_dir)])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "downloaded from file://" in err and "unknown url type" not in err
    assert find_mnist(tmp_path / "m")[0] is not None
