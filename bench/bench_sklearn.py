"""fastnn.sklearn.NetworkClassifier vs scikit-learn's MLPClassifier on the digits, matched settings.

Both networks: one hidden layer of 30 logistic (sigmoid) units, softmax output with the log-likelihood
(log-loss) cost, plain mini-batch SGD (constant learning rate eta, no momentum, no regularization,
shuffled mini-batches of 10), 30 epochs, no early stopping. Training set: the 1497 training +
validation digits of ``fastnn.data.load_digits()``; accuracy on its 300 test digits.

As a script (prints fit times and accuracies side by side)::

    python bench/bench_sklearn.py                    # 5 seeds, best of 3 fits each
    python bench/bench_sklearn.py --blas-threads 1   # both on one BLAS thread
    python bench/bench_sklearn.py --grid             # also a GridSearchCV(n_jobs=2) with each

With pytest-benchmark (timings only, single-threaded as the rest of bench/; the accuracy comparison
is tests/test_sklearn.py)::

    pytest bench/ --benchmark-only -k sklearn
"""

import argparse
import contextlib
import statistics
import sys
import time
import warnings

import numpy as np

HIDDEN = (30,)
EPOCHS = 30
BATCH = 10
ETA = 0.5


def digits():
    """(X_train, y_train, X_test, y_test): 1497 / 300 digits, pixels / 16."""
    from fastnn.data import load_digits

    ds = load_digits()
    X_train = np.vstack([ds.training[0], ds.validation[0]])
    y_train = np.concatenate([ds.training[1], ds.validation[1]])
    return X_train, y_train, ds.test[0], ds.test[1]


def make_fastnn(seed, hidden=HIDDEN, epochs=EPOCHS, batch=BATCH, eta=ETA):
    from fastnn.sklearn import NetworkClassifier

    return NetworkClassifier(
        hidden,
        activation="logistic",
        cost="log-likelihood",
        eta=eta,
        lmbda=0.0,
        momentum=0.0,
        batch_size=batch,
        epochs=epochs,
        random_state=seed,
    )


def make_mlp(seed, hidden=HIDDEN, epochs=EPOCHS, batch=BATCH, eta=ETA):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden,
        activation="logistic",
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=eta,
        momentum=0.0,
        nesterovs_momentum=False,
        alpha=0.0,
        batch_size=batch,
        max_iter=epochs,
        shuffle=True,
        early_stopping=False,
        tol=0.0,
        n_iter_no_change=10**9,
        random_state=seed,
    )


def fit_quietly(estimator, X, y):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # MLPClassifier: max_iter reached (by design)
        return estimator.fit(X, y)


def time_fit(factory, seed, X, y, repeats):
    """(best fit time in seconds over `repeats` fits, the last fitted estimator)."""
    best, est = float("inf"), None
    for _ in range(repeats):
        est = factory(seed)
        t0 = time.perf_counter()
        fit_quietly(est, X, y)
        best = min(best, time.perf_counter() - t0)
    return best, est


def blas_limit(n_threads):
    if n_threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n_threads, user_api="blas")


def time_grid(factory, X, y):
    from sklearn.model_selection import GridSearchCV

    grid = {"eta": [0.1, 0.5]} if "fastnn" in factory.__name__ else {"learning_rate_init": [0.1, 0.5]}
    grid["hidden_layer_sizes"] = [(30,), (60,)]
    search = GridSearchCV(factory(0), grid, cv=3, n_jobs=2)
    t0 = time.perf_counter()
    fit_quietly(search, X, y)
    return time.perf_counter() - t0, search.best_score_


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="random states 0..seeds-1 (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="fits per seed, best time kept (default 3)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--eta", type=float, default=ETA)
    parser.add_argument("--hidden", type=int, default=HIDDEN[0], help="hidden units (default 30)")
    parser.add_argument("--blas-threads", type=int, default=None, help="limit BLAS threads for both")
    parser.add_argument("--grid", action="store_true", help="also time a 2x2 GridSearchCV(cv=3, n_jobs=2)")
    args = parser.parse_args(argv)

    X_train, y_train, X_test, y_test = digits()
    settings = dict(hidden=(args.hidden,), epochs=args.epochs, eta=args.eta)

    def fastnn_factory(seed):
        return make_fastnn(seed, **settings)

    def mlp_factory(seed):
        return make_mlp(seed, **settings)

    print(
        f"digits: {len(X_train)} training / {len(X_test)} test examples; hidden={settings['hidden']}, "
        f"logistic, softmax + log-loss, SGD eta={args.eta}, batch={BATCH}, epochs={args.epochs}, "
        f"no momentum/regularization; best of {args.repeats} fits x {args.seeds} seeds"
        + (f"; BLAS threads={args.blas_threads}" if args.blas_threads else "")
    )
    rows = {}
    with blas_limit(args.blas_threads):
        for name, factory in (
            ("fastnn NetworkClassifier", fastnn_factory),
            ("sklearn MLPClassifier", mlp_factory),
        ):
            times, accs = [], []
            for seed in range(args.seeds):
                seconds, est = time_fit(factory, seed, X_train, y_train, args.repeats)
                times.append(seconds)
                accs.append(est.score(X_test, y_test))
            rows[name] = (times, accs)

    print(f"{'estimator':<26} {'fit time (s)':>13} {'examples/s':>12} {'test accuracy':>22}")
    for name, (times, accs) in rows.items():
        t = statistics.median(times)
        eps = len(X_train) * args.epochs / t
        acc = "{:.2f}% ({})".format(100 * np.mean(accs), ", ".join("%.1f" % (100 * a) for a in accs))
        print(f"{name:<26} {t:>13.4f} {eps:>12,.0f} {acc:>22}")
    (t_f, a_f), (t_m, a_m) = rows["fastnn NetworkClassifier"], rows["sklearn MLPClassifier"]
    speedup = statistics.median(t_m) / statistics.median(t_f)
    diff = 100 * (np.mean(a_f) - np.mean(a_m))
    print(
        f"fastnn fits {speedup:.1f}x faster; accuracy difference {diff:+.2f} points "
        f"({'fastnn not more than 1 point worse' if diff >= -1.0 else 'fastnn MORE than 1 point worse'})"
    )

    if args.grid:
        print(
            "GridSearchCV(cv=3, n_jobs=2), 2 learning rates x hidden (30,)/(60,) "
            "(after a warm-up search that starts the loky workers):"
        )
        for factory in (fastnn_factory, mlp_factory):  # start the workers and import both there
            time_grid(factory, X_train[:90], y_train[:90])
        for name, factory in (
            ("fastnn NetworkClassifier", fastnn_factory),
            ("sklearn MLPClassifier", mlp_factory),
        ):
            seconds, best = time_grid(factory, X_train, y_train)
            print(f"  {name:<26} {seconds:8.2f} s   best CV accuracy {100 * best:.2f}%")
    return 0


# ---- pytest-benchmark cases: pytest bench/ --benchmark-only -k sklearn ---------------------------------
def _bench(benchmark, rounds, factory):
    X_train, y_train, X_test, y_test = digits()
    benchmark.group = "digits fit: NetworkClassifier vs MLPClassifier (30 logistic, SGD, 30 epochs)"
    est = benchmark.pedantic(
        lambda: fit_quietly(factory(0), X_train, y_train), rounds=rounds, iterations=1, warmup_rounds=1
    )
    benchmark.extra_info["test_accuracy"] = float(est.score(X_test, y_test))


def test_bench_sklearn_fit_fastnn(benchmark, bench_rounds):
    _bench(benchmark, bench_rounds, make_fastnn)


def test_bench_sklearn_fit_mlpclassifier(benchmark, bench_rounds):
    _bench(benchmark, bench_rounds, make_mlp)


if __name__ == "__main__":
    sys.exit(main())
