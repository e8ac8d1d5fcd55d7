"""Tests of fastnn.sklearn: scikit-learn's estimator checks, model selection, pickling, the API details."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastnn.sklearn import NetworkClassifier, NetworkRegressor, expected_failed_checks


# ------------------------------------------------------------------------------------------------
# scikit-learn's estimator checks
# ------------------------------------------------------------------------------------------------
def _parametrize_checks(estimators):
    try:  # scikit-learn >= 1.6
        return parametrize_with_checks(estimators, expected_failed_checks=expected_failed_checks)
    except TypeError:  # pragma: no cover - older scikit-learn: the `_xfail_checks` tag marks them
        return parametrize_with_checks(estimators)


@pytest.mark.slow
@_parametrize_checks([NetworkClassifier(), NetworkRegressor()])
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits_split():
    """Digits, pixels / 16: (X_train, y_train, X_test, y_test) with 1497 training and 300 test examples."""
    from fastnn.data import load_digits

    ds = load_digits()
    X_train = np.vstack([ds.training[0], ds.validation[0]])
    y_train = np.concatenate([ds.training[1], ds.validation[1]])
    return X_train, y_train, ds.test[0], ds.test[1]


@pytest.fixture(scope="module")
def blobs():
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=120, centers=3, n_features=4, cluster_std=1.0, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def regression():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(200, 3))
    Y = np.column_stack([np.sin(2 * X[:, 0]) + X[:, 1], X[:, 1] * X[:, 2] - 0.5 * X[:, 0]])
    return X, Y


# ------------------------------------------------------------------------------------------------
# Model selection, pipelines, joblib backends
# ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_grid_search_digits_picks_sensible_model(digits_split):
    X_train, y_train, X_test, y_test = digits_split
    grid = {"eta": [0.001, 0.5], "hidden_layer_sizes": [(2,), (30,)]}
    search = GridSearchCV(NetworkClassifier(epochs=10, random_state=0), grid, cv=3, n_jobs=2)
    search.fit(X_train, y_train)
    assert search.best_params_ == {"eta": 0.5, "hidden_layer_sizes": (30,)}
    assert search.best_score_ > 0.9
    assert search.score(X_test, y_test) > 0.9
    assert isinstance(search.best_estimator_, NetworkClassifier)
    assert search.best_estimator_.n_iter_ == 10


def test_randomized_search(blobs):
    from scipy.stats import loguniform
    from sklearn.model_selection import RandomizedSearchCV

    X, y = blobs
    search = RandomizedSearchCV(
        NetworkClassifier(epochs=10, random_state=0),
        {"eta": loguniform(0.05, 1.0), "hidden_layer_sizes": [(10,), (30,)], "lmbda": [0.0, 1.0]},
        n_iter=4,
        cv=3,
        random_state=0,
    ).fit(X, y)
    assert search.best_score_ > 0.9


def test_pipeline_with_scaler(digits_split):
    X_train, y_train, X_test, y_test = digits_split
    pipe = make_pipeline(StandardScaler(), NetworkClassifier(eta=0.1, epochs=10, random_state=0))
    pipe.fit(X_train, y_train)
    assert pipe.score(X_test, y_test) > 0.9
    assert pipe.predict_proba(X_test).shape == (len(X_test), 10)


def test_cross_val_score(digits_split):
    X_train, y_train, _, _ = digits_split
    scores = cross_val_score(NetworkClassifier(epochs=10, random_state=0), X_train, y_train, cv=3)
    assert scores.shape == (3,)
    assert scores.min() > 0.9


def test_regressor_cross_val_score(regression):
    X, Y = regression
    scores = cross_val_score(NetworkRegressor(eta=0.05, epochs=100, random_state=0), X, Y[:, 0], cv=3)
    assert scores.min() > 0.8


def test_threading_backend(blobs):
    from joblib import parallel_backend

    X, y = blobs
    with parallel_backend("threading", n_jobs=2):
        scores = cross_val_score(NetworkClassifier(epochs=10, random_state=0), X, y, cv=3, n_jobs=2)
    assert scores.min() > 0.8


@pytest.mark.slow
def test_dask_backend(blobs):
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_backend

    X, y = blobs
    grid = {"eta": [0.1, 0.5]}
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None):
        with parallel_backend("dask"):
            search = GridSearchCV(NetworkClassifier(epochs=10, random_state=0), grid, cv=3, n_jobs=-1).fit(
                X, y
            )
    assert search.best_score_ > 0.8


@pytest.mark.slow
def test_matches_mlpclassifier_accuracy(digits_split):
    """fastnn's test accuracy is within 1 point of MLPClassifier with matched settings (mean of 5 seeds).

    Matched: one hidden layer of 30 logistic units, softmax + log-loss, plain SGD (no momentum, constant
    learning rate 0.5), mini-batches of 10, 30 epochs, no regularization. Timings: bench/bench_sklearn.py.
    """
    from sklearn.neural_network import MLPClassifier

    X_train, y_train, X_test, y_test = digits_split
    ours, theirs = [], []
    for seed in range(5):
        net = NetworkClassifier(
            (30,), activation="logistic", eta=0.5, batch_size=10, epochs=30, random_state=seed
        )
        ours.append(net.fit(X_train, y_train).score(X_test, y_test))
        mlp = MLPClassifier(
            (30,),
            activation="logistic",
            solver="sgd",
            learning_rate="constant",
            learning_rate_init=0.5,
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=0.0,
            batch_size=10,
            max_iter=30,
            tol=0.0,
            n_iter_no_change=10**6,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            theirs.append(mlp.fit(X_train, y_train).score(X_test, y_test))
    assert np.mean(ours) >= np.mean(theirs) - 0.01, (ours, theirs)
    assert np.mean(ours) > 0.95


# ------------------------------------------------------------------------------------------------
# Training runs in the compiled core: one SGD call per fit
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def sgd_calls(monkeypatch):
    """Records (args, kwargs) of every Network.SGD call."""
    import fastnn

    calls = []
    original = fastnn.Network.SGD

    def spy(self, *args, **kwargs):
        calls.append((args, kwargs))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(fastnn.Network, "SGD", spy)
    return calls


def test_fit_is_one_sgd_call_without_python_callbacks(blobs, sgd_calls):
    X, y = blobs
    clf = NetworkClassifier(epochs=7, batch_size=16, eta=0.3, lmbda=0.1, momentum=0.5, random_state=0).fit(
        X, y
    )
    assert len(sgd_calls) == 1
    args, kwargs = sgd_calls[0]
    (X_arg, y_arg), epochs, batch, eta, lmbda = args
    assert (epochs, batch, eta, lmbda) == (7, 16, 0.3, 0.1)
    assert X_arg.flags.c_contiguous and X_arg.dtype == np.float64
    assert_array_equal(y_arg, y)  # classes 0..2 map to themselves
    assert kwargs.get("callback") is None and not kwargs.get("progress")
    assert kwargs["momentum"] == 0.5 and kwargs["track_loss"] is True
    assert clf.n_iter_ == 7 and len(clf.loss_curve_) == 7


def test_early_stopping_classifier_is_one_sgd_call(blobs, sgd_calls):
    X, y = blobs
    clf = NetworkClassifier(
        epochs=50, early_stopping=True, n_iter_no_change=3, validation_fraction=0.25, random_state=0
    ).fit(X, y)
    assert len(sgd_calls) == 1
    args, kwargs = sgd_calls[0]
    assert kwargs["early_stopping"] == 3 and kwargs["monitor_evaluation_accuracy"]
    assert kwargs.get("callback") is None
    assert len(args[0][0]) == 90 and len(kwargs["evaluation_data"][0]) == 30
    assert np.bincount(kwargs["evaluation_data"][1]).tolist() == [10, 10, 10]  # stratified
    assert clf.n_iter_ <= 50
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert all(0.0 <= s <= 1.0 for s in clf.validation_scores_)


def test_partial_fit_is_one_epoch(blobs, sgd_calls):
    X, y = blobs
    clf = NetworkClassifier(random_state=0)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X, y)
    assert [c[0][1] for c in sgd_calls] == [1, 1]
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2


# ------------------------------------------------------------------------------------------------
# Classifier behaviour
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "labels",
    [
        np.array(["cat", "dog", "emu"]),
        np.array([-7, 3, 100]),
        np.array([2.0, 10.0, 11.0]),
        np.array([False, True]),
    ],
    ids=["strings", "sparse-ints", "floats", "bools"],
)
def test_arbitrary_labels(blobs, labels):
    X, y = blobs
    if len(labels) == 2:
        X, y = X[y < 2], y[y < 2]
    y_named = labels[y]
    clf = NetworkClassifier(epochs=20, random_state=0).fit(X, y_named)
    assert_array_equal(clf.classes_, np.sort(labels))
    pred = clf.predict(X)
    assert pred.dtype == clf.classes_.dtype
    assert set(pred) <= set(labels)
    assert np.mean(pred == y_named) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), len(labels))
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(clf.classes_[proba.argmax(axis=1)], pred)
    assert_allclose(clf.predict_log_proba(X), np.log(proba))


def test_object_labels_and_lists(blobs):
    X, y = blobs
    y_obj = np.array(["a", "b", "c"], dtype=object)[y]
    clf = NetworkClassifier(epochs=10, random_state=0).fit(X.tolist(), list(y_obj))
    assert list(clf.classes_) == ["a", "b", "c"]
    assert clf.score(X, y_obj) > 0.9


@pytest.mark.parametrize(
    "cost, output",
    [
        ("cross-entropy", None),
        ("quadratic", "sigmoid"),
        ("quadratic", "linear"),
        ("log-likelihood", "softmax"),
    ],
)
def test_cost_output_combinations(blobs, cost, output):
    X, y = blobs
    clf = NetworkClassifier(
        cost=cost, output=output, eta=0.5 if output != "linear" else 0.05, epochs=20, random_state=0
    ).fit(X, y)
    proba = clf.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(proba >= 0)
    assert clf.score(X, y) > 0.9
    assert clf.network_.output == (output or {"cross-entropy": "sigmoid", "log-likelihood": "softmax"}[cost])


@pytest.mark.parametrize("activation", ["sigmoid", "logistic", "tanh", "relu"])
def test_activations(blobs, activation):
    X, y = blobs
    clf = NetworkClassifier(activation=activation, eta=0.1, epochs=20, random_state=0).fit(X, y)
    assert clf.network_.hidden == ("sigmoid" if activation == "logistic" else activation)
    assert clf.score(X, y) > 0.9


def test_network_shape_and_dtype(blobs):
    X, y = blobs
    clf = NetworkClassifier((8, 5), dtype="float32", random_state=0).fit(X, y)
    assert tuple(clf.network_.sizes) == (4, 8, 5, 3)
    assert clf.network_.dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float32
    assert clf.n_features_in_ == 4
    clf = NetworkClassifier((), random_state=0).fit(X, y)  # no hidden layer
    assert tuple(clf.network_.sizes) == (4, 3)
    clf = NetworkClassifier(7, random_state=0).fit(X, y)  # an int is one hidden layer
    assert tuple(clf.network_.sizes) == (4, 7, 3)


def test_regularization_momentum_dropout_schedule(blobs):
    X, y = blobs
    for params in (
        {"lmbda": 5.0},
        {"lmbda": 1.0, "regularization": "l1"},
        {"momentum": 0.9, "eta": 0.05},
        {"dropout": 0.2},
        {"eta_schedule": 2, "epochs": 60},
        {"early_stopping": True, "eta_schedule": 3, "n_iter_no_change": 5, "epochs": 60},
    ):
        clf = NetworkClassifier(random_state=0, **params).fit(X, y)
        assert clf.score(X, y) > 0.85, params
        if "eta_schedule" in params:
            assert clf.validation_scores_ is not None and len(clf.validation_scores_) == clf.n_iter_


def test_batch_size_clipped_to_n_samples():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array(["x", "y", "x"])
    clf = NetworkClassifier(batch_size=100, epochs=3, random_state=0).fit(X, y)
    assert clf.predict(X).shape == (3,)


def test_random_state_reproducible(blobs):
    X, y = blobs
    a = NetworkClassifier(random_state=42, epochs=5).fit(X, y).predict_proba(X)
    b = NetworkClassifier(random_state=42, epochs=5).fit(X, y).predict_proba(X)
    c = NetworkClassifier(random_state=43, epochs=5).fit(X, y).predict_proba(X)
    assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_partial_fit_classes(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        NetworkClassifier().partial_fit(X, y)
    clf = NetworkClassifier(random_state=0)
    clf.partial_fit(X[:40], y[:40], classes=np.array([2, 1, 0, 5]))  # class 5 never seen: still an output
    assert_array_equal(clf.classes_, [0, 1, 2, 5])
    assert clf.network_.sizes[-1] == 4
    for _ in range(10):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 11 and len(clf.loss_curve_) == 11
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X, np.where(y == 0, 9, y))
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :3], y)
    assert clf.n_iter_ == 11  # failed calls leave the estimator as it was


def test_warm_start(blobs):
    X, y = blobs
    clf = NetworkClassifier(epochs=3, warm_start=True, random_state=0).fit(X, y)
    net = clf.network_
    w = [a.copy() for a in net.weights]
    clf.fit(X, y)
    assert clf.network_ is net and clf.n_iter_ == 6 and len(clf.loss_curve_) == 6
    assert not np.array_equal(w[0], clf.network_.weights[0])
    clf.set_params(hidden_layer_sizes=(5,))
    with pytest.raises(ValueError, match="warm_start"):
        clf.fit(X, y)
    clf.set_params(hidden_layer_sizes=(30,))
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X, np.where(y == 0, 7, y))
    cold = NetworkClassifier(epochs=3, random_state=0).fit(X, y)
    cold_net = cold.network_
    cold.fit(X, y)
    assert cold.network_ is not cold_net and cold.n_iter_ == 3


def test_one_class_error():
    X = np.random.RandomState(0).uniform(size=(10, 3))
    with pytest.raises(ValueError, match="only one class"):
        NetworkClassifier().fit(X, np.ones(10))


def test_multilabel_rejected(blobs):
    X, y = blobs
    Y = np.column_stack([y == 0, y == 1]).astype(int)
    with pytest.raises(ValueError, match=r"1d array|multilabel"):
        NetworkClassifier().fit(X, Y)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"hidden_layer_sizes": (0,)}, ValueError, r"hidden_layer_sizes\[0\]"),
        ({"hidden_layer_sizes": "30"}, TypeError, "hidden_layer_sizes"),
        ({"cost": "hinge"}, ValueError, "cost"),
        ({"cost": "cross-entropy", "output": "softmax"}, ValueError, "output"),
        ({"activation": "swish"}, ValueError, "activation"),
        ({"eta": 0.0}, ValueError, "eta"),
        ({"eta": "fast"}, TypeError, "eta"),
        ({"lmbda": -1.0}, ValueError, "lmbda"),
        ({"regularization": "l3"}, ValueError, "regularization"),
        ({"momentum": 1.0}, ValueError, "momentum"),
        ({"dropout": -0.1}, ValueError, "dropout"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 2.5}, TypeError, "batch_size"),
        ({"epochs": 0}, ValueError, "epochs"),
        ({"early_stopping": "yes"}, TypeError, "early_stopping"),
        ({"validation_fraction": 1.0}, ValueError, "validation_fraction"),
        ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change"),
        ({"eta_schedule": 0}, ValueError, "eta_schedule"),
        ({"weight_init": "xavier"}, ValueError, "weight_init"),
        ({"dtype": "float16"}, ValueError, "dtype"),
        ({"random_state": "seed"}, ValueError, "random_state|RandomState"),
        ({"verbose": -1}, ValueError, "verbose"),
    ],
)
def test_invalid_parameters_raise_at_fit(blobs, params, error, match):
    X, y = blobs
    clf = NetworkClassifier(**params)  # no validation in __init__
    with pytest.raises(error, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "network_")


def test_unfitted_raises():
    for est in (NetworkClassifier(), NetworkRegressor()):
        with pytest.raises(NotFittedError):
            est.predict(np.zeros((2, 3)))


def test_verbose_reports_epochs(blobs, capsys):
    X, y = blobs
    NetworkClassifier(epochs=3, verbose=1, random_state=0).fit(X, y)
    err = capsys.readouterr().err
    assert err.count("NetworkClassifier epoch") == 3


# ------------------------------------------------------------------------------------------------
# Regressor behaviour
# ------------------------------------------------------------------------------------------------
def test_regressor_1d_and_2d_targets(regression):
    X, Y = regression
    reg = NetworkRegressor(eta=0.3, epochs=100, random_state=0)
    assert reg.fit(X, Y[:, 0]).predict(X).shape == (len(X),)
    assert reg.n_outputs_ == 1 and tuple(reg.network_.sizes) == (3, 30, 1)
    assert reg.score(X, Y[:, 0]) > 0.9
    assert reg.fit(X, Y[:, :1]).predict(X).shape == (len(X), 1)
    assert reg.fit(X, Y).predict(X).shape == Y.shape
    assert reg.n_outputs_ == 2 and reg.network_.output == "linear"
    from fastnn import QuadraticCost

    assert reg.network_.cost is QuadraticCost
    assert reg.score(X, Y) > 0.9
    assert reg.predict(X).dtype == np.float64


def test_regressor_early_stopping_r2(regression, sgd_calls):
    X, Y = regression
    reg = NetworkRegressor(eta=0.3, epochs=300, early_stopping=True, n_iter_no_change=5, random_state=0).fit(
        X, Y
    )
    assert len(sgd_calls) == 1
    assert callable(sgd_calls[0][1]["callback"])  # per-epoch R² on the validation split
    assert len(reg.validation_scores_) == reg.n_iter_ <= 200
    assert reg.best_validation_score_ == max(reg.validation_scores_) > 0.8
    # The best parameters are kept: the validation R² of the final network is the best one.
    assert reg.score(X, Y) > 0.8


def test_regressor_partial_fit_and_warm_start(regression):
    X, Y = regression
    reg = NetworkRegressor(eta=0.05, random_state=0)
    for _ in range(3):
        reg.partial_fit(X, Y)
    assert reg.n_iter_ == 3
    with pytest.raises(ValueError, match="targets"):
        reg.partial_fit(X, Y[:, 0])
    warm = NetworkRegressor(eta=0.05, epochs=5, warm_start=True, random_state=0).fit(X, Y)
    warm.fit(X, Y)
    assert warm.n_iter_ == 10


def test_regressor_rejects_classification_costs(regression):
    X, Y = regression
    for params, match in (
        ({"cost": "cross-entropy"}, "cost"),
        ({"output": "softmax"}, "output"),
    ):
        with pytest.raises(ValueError, match=match):
            NetworkRegressor(**params).fit(X, Y)


def test_regressor_schedule_and_early_stopping_follow_the_validation_cost(regression):
    X, Y = regression
    reg = NetworkRegressor(
        epochs=300, eta_schedule=2, early_stopping=True, n_iter_no_change=6, random_state=0
    ).fit(X, Y)
    h = reg.network_.history
    assert h.settings["eta_schedule"] == 2 and h.stop_reason in ("early-stopping", "eta-floor")
    assert len(reg.validation_scores_) == reg.n_iter_ == len(h.records)
    assert min(r.eta for r in h.records) < reg.eta  # η was halved on a plateau
    assert reg.score(X, Y) > 0.5


# ------------------------------------------------------------------------------------------------
# Pickling, clone, DataFrames
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_pickle_round_trip_predicts_identically(blobs, regression, dtype):
    X, y = blobs
    clf = NetworkClassifier(epochs=5, dtype=dtype, random_state=0).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert_array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.get_params() == clf.get_params()
    assert loaded.loss_curve_ == clf.loss_curve_ and loaded.n_iter_ == clf.n_iter_
    loaded.partial_fit(X, y)  # a loaded estimator can keep training
    assert loaded.n_iter_ == 6

    Xr, Yr = regression
    reg = NetworkRegressor(epochs=5, dtype=dtype, random_state=0).fit(Xr, Yr[:, 0])
    loaded = pickle.loads(pickle.dumps(reg))
    assert_array_equal(loaded.predict(Xr), reg.predict(Xr))


def test_joblib_dump_load(tmp_path, blobs):
    import joblib

    X, y = blobs
    clf = NetworkClassifier(epochs=5, random_state=0).fit(X, np.array(["a", "b", "c"])[y])
    joblib.dump(clf, tmp_path / "clf.joblib")
    for mmap_mode in (None, "r"):
        loaded = joblib.load(tmp_path / "clf.joblib", mmap_mode=mmap_mode)
        assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
        assert_array_equal(loaded.predict(X), clf.predict(X))
        loaded.partial_fit(X, np.array(["a", "b", "c"])[y])  # its parameters are trainable


def test_clone(blobs):
    X, y = blobs
    clf = NetworkClassifier((12, 6), eta=0.2, early_stopping=True, random_state=3).fit(X, y)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert not hasattr(twin, "network_") and not hasattr(twin, "classes_")
    assert is_classifier(twin) and is_regressor(NetworkRegressor())
    assert_array_equal(twin.fit(X, y).predict_proba(X), clf.predict_proba(X))


def test_dataframe_feature_names(blobs):
    pd = pytest.importorskip("pandas")
    X, y = blobs
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = NetworkClassifier(epochs=5, random_state=0).fit(df, pd.Series(np.array(["u", "v", "w"])[y]))
    assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    assert clf.predict(df).shape == (len(df),)
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)
    reg = NetworkRegressor(epochs=5, random_state=0).fit(df, pd.Series(X[:, 0]))
    assert_array_equal(reg.feature_names_in_, ["a", "b", "c", "d"])
    assert not hasattr(NetworkClassifier(epochs=2).fit(X, y), "feature_names_in_")


def test_divergence_raises_and_keeps_previous_fit(regression):
    X, Y = regression
    reg = NetworkRegressor(epochs=3, random_state=0).fit(X, Y[:, 0])
    before = reg.predict(X)
    bad = clone(reg).set_params(eta=50.0, epochs=30)
    with pytest.raises(FloatingPointError, match="eta"):
        bad.fit(X, 1e4 * Y)
    reg.set_params(eta=50.0, epochs=30)
    with pytest.raises(FloatingPointError):
        reg.fit(X, 1e4 * Y)  # 2 targets now: the fitted attributes still describe the previous fit
    assert reg.n_outputs_ == 1 and reg.n_iter_ == 3
    assert_array_equal(reg.predict(X), before)


def test_classifier_predict_follows_the_network_rule_where_outputs_saturate():
    """Two saturated sigmoid outputs (z = 40 and 45) tie in predict_proba; predict keeps z's order,
    as Network.predict and the exported ONNX label do."""
    X = np.array([[0.0], [1.0], [0.5], [0.2]])
    clf = NetworkClassifier(hidden_layer_sizes=(), cost="cross-entropy", epochs=1, random_state=0).fit(
        X, ["a", "b", "a", "b"]
    )
    clf.network_.weights = [np.zeros((2, 1))]
    clf.network_.biases = [np.array([40.0, 45.0])]
    assert np.all(clf.predict_proba(X)[:, 0] == clf.predict_proba(X)[:, 1])  # tie in a
    assert list(clf.predict(X)) == ["b"] * 4
    assert list(clf.predict(X)) == list(clf.classes_[clf.network_.predict(X)])
