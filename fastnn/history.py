"""What happened during training: one record per epoch, and why training stopped."""

import json
from dataclasses import asdict, dataclass, field
from typing import Optional


@dataclass
class EpochRecord:
    """Monitoring figures of one epoch (None where not monitored).

    Accuracies are counts, as in network2; divide by ``n_training`` / ``n_evaluation`` (or use
    ``training_fraction`` / ``evaluation_fraction``) for fractions.

    Parameters
    ----------
    epoch : int
        1-based epoch number.
    eta : float
        Learning rate used in the epoch.
    seconds : float
        Wall-clock time of the epoch's training (monitoring excluded).
    examples_per_second : float
    n_training : int
    n_evaluation : int, optional
    training_loss : float, optional
        Mean cost over the epoch's mini-batches (``SGD(track_loss=True)``).
    training_cost, evaluation_cost : float, optional
        network2's total cost after the epoch: the mean cost plus the regularization term
        ½(λ/n)Σw² with n = the size of the set evaluated (so the evaluation set's term is larger).
    training_accuracy, evaluation_accuracy : int, optional
        Rows classified correctly after the epoch.
    training_data_cost, evaluation_data_cost : float, optional
        The mean per-example cost without the regularization term (recorded with the costs
        above): compare these two to judge overfitting.
    """

    epoch: int
    eta: float
    seconds: float
    examples_per_second: float
    n_training: int
    n_evaluation: Optional[int] = None
    training_loss: Optional[float] = None  # mean cost over the epoch's mini-batches (track_loss)
    training_cost: Optional[float] = None
    training_accuracy: Optional[int] = None
    evaluation_cost: Optional[float] = None
    evaluation_accuracy: Optional[int] = None
    evaluation_seconds: Optional[float] = None  # the monitoring passes after the epoch
    training_data_cost: Optional[float] = None  # mean cost without the regularization term
    evaluation_data_cost: Optional[float] = None  # mean cost without the regularization term

    @property
    def training_fraction(self):
        """Fraction of training rows classified correctly, or None."""
        return None if self.training_accuracy is None else self.training_accuracy / self.n_training

    @property
    def evaluation_fraction(self):
        """Fraction of evaluation rows classified correctly, or None."""
        if self.evaluation_accuracy is None or not self.n_evaluation:
            return None
        return self.evaluation_accuracy / self.n_evaluation


STOP_REASONS = ("completed", "early-stopping", "eta-floor", "callback", "callback-error", "interrupted")


@dataclass
class History:
    """The records of one SGD call (``net.history``).

    Parameters
    ----------
    records : list of EpochRecord
        One record per completed epoch.
    best_epoch : int, optional
        The epoch with the best evaluation score (when evaluated).
    stop_reason : str
        One of ``STOP_REASONS``: "completed", "early-stopping", "eta-floor", "callback",
        "interrupted" (and any reason added by later versions).
    restored_best : bool
        Whether the parameters were reset to those of the best epoch at the end.
    settings : dict
        The SGD call's settings (epochs, mini_batch_size, eta, lmbda, ...).
    """

    records: list[EpochRecord] = field(default_factory=list)
    best_epoch: Optional[int] = None
    stop_reason: str = "completed"
    restored_best: bool = False
    settings: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.records)

    def column(self, name):
        """One field over the epochs, e.g. ``history.column("evaluation_accuracy")``.

        Parameters
        ----------
        name : str
            A field of :class:`EpochRecord`.

        Returns
        -------
        list
        """
        return [getattr(r, name) for r in self.records]

    def to_dict(self):
        """The history as plain Python data (records as dicts), JSON-serialisable.

        Returns
        -------
        dict
        """
        return {
            "records": [asdict(r) for r in self.records],
            "best_epoch": self.best_epoch,
            "stop_reason": self.stop_reason,
            "restored_best": self.restored_best,
            "settings": dict(self.settings),
        }

    def plot(self, path=None, **kwargs):
        """The learning curves as a matplotlib Figure (written to ``path`` when given): a shortcut
        for ``fastnn.plotting.plot_history(self, path, **kwargs)``; needs matplotlib."""
        from .plotting import plot_history

        return plot_history(self, path, **kwargs)

    def to_json(self, **kwargs):
        """The history as JSON text.

        Parameters
        ----------
        **kwargs
            Passed to :func:`json.dumps` (e.g. ``indent=2``).

        Returns
        -------
        str
        """
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, d):
        """Rebuild a History from :meth:`to_dict`'s output.

        Parameters
        ----------
        d : dict

        Returns
        -------
        History
        """
        return cls(
            records=[EpochRecord(**r) for r in d.get("records", [])],
            best_epoch=d.get("best_epoch"),
            stop_reason=d.get("stop_reason", "completed"),
            restored_best=d.get("restored_best", False),
            settings=d.get("settings", {}),
        )
