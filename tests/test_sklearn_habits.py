"""scikit-learn habits on the estimators (issue #24): ``max_iter=``, ``alpha=``,
``learning_rate_init=``, ``solver=`` ... name fastnn's parameter and the conversion instead of a
bare TypeError; ``set_params`` says the same."""

import pickle

import pytest
from sklearn.base import clone

from fastnn.sklearn import NetworkClassifier, NetworkRegressor


@pytest.mark.parametrize("cls", [NetworkClassifier, NetworkRegressor])
@pytest.mark.parametrize(
    "kwargs, says",
    [
        ({"max_iter": 200}, "fastnn calls it epochs: epochs=200"),
        ({"alpha": 1e-4}, "lmbda = alpha * n / batch_size"),
        ({"learning_rate_init": 0.001}, "fastnn calls it eta: eta=0.001"),
        ({"solver": "adam"}, "mini-batch SGD only"),
        ({"learning_rate": "adaptive"}, "eta_schedule=N"),
    ],
)
def test_habit_names_fastnns_parameter(cls, kwargs, says):
    name = next(iter(kwargs))
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{name}'") as info:
        cls(**kwargs)
    assert says in str(info.value)
    with pytest.raises(ValueError, match=f"Invalid parameter '{name}'") as info:
        cls().set_params(**kwargs)
    assert says in str(info.value)


def test_alpha_example_conversion():
    with pytest.raises(TypeError, match=r"alpha=0.0001 on 50,000 rows, batch_size=10: lmbda=0.5"):
        NetworkClassifier(alpha=0.0001)


def test_estimators_still_clone_and_pickle():
    est = NetworkClassifier(epochs=3, eta=0.2)
    assert clone(est).get_params() == est.get_params()
    assert pickle.loads(pickle.dumps(est)).get_params() == est.get_params()
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        NetworkClassifier(bogus=1)
