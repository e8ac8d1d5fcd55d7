"""Flag values that used to be taken silently or reported without the flag's name (issue #23):
`--sizes 64,,10` trained [64, 10]; `--seed -1` said "expected non-negative integer"."""

import pytest

import fastnn
from fastnn import cli


@pytest.mark.parametrize("sizes", ["64,,10", "64,10,", ",64,10", "64, ,10"])
def test_empty_size_field_is_refused(capsys, sizes):
    code = cli.main(["train", "--data", "digits", "--sizes", sizes, "--epochs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "--sizes" in err and "empty layer size" in err, err


@pytest.mark.parametrize("sizes", ["64,30,10", "64, 30, 10", "64 30 10"])
def test_sizes_spellings_still_accepted(sizes):
    args = cli.build_parser().parse_args(["train", "--sizes", sizes])
    assert args.sizes == [64, 30, 10]


@pytest.mark.parametrize("seed", ["-1", "1.5", "1e3", "9" * 5000])
def test_bad_seed_names_the_flag(capsys, seed):
    code = cli.main(["train", "--data", "digits", "--seed", seed, "--epochs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "--seed" in err and len(err.strip().splitlines()) == 1, err


def test_network_seed_is_checked():
    with pytest.raises(ValueError, match="seed: expected a non-negative integer"):
        fastnn.Network([2, 3, 2], seed=-1)
    with pytest.raises(ValueError, match=r"seed: .* digits"):
        fastnn.Network([2, 3, 2], seed=10**400)
    for bad in (1.5, "1", True):
        with pytest.raises(TypeError, match="seed: expected a non-negative integer or None"):
            fastnn.Network([2, 3, 2], seed=bad)
    assert fastnn.Network([2, 3, 2], seed=2**200).seed == 2**200
