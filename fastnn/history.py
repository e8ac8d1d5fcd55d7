"""What happened during training: one record per epoch, and why training stopped."""
import json
from dataclasses import asdict, dataclass, field
from typing import List, Optional


@dataclass
class EpochRecord:
    """Monitoring figures of one epoch (None where not monitored). Accuracies are counts, as in
    network2; divide by n_training / n_evaluation for fractions."""

    epoch: int
    eta: float
    seconds: float
    examples_per_second: float
    n_training: int
    n_evaluation: Optional[int] = None
    training_loss: Optional[float] = None      # mean cost over the epoch's mini-batches (track_loss)
    training_cost: Optional[float] = None
    training_accuracy: Optional[int] = None
    evaluation_cost: Optional[float] = None
    evaluation_accuracy: Optional[int] = None

    @property
    def training_fraction(self):
        return None if self.training_accuracy is None else self.training_accuracy / self.n_training

    @property
    def evaluation_fraction(self):
        if self.evaluation_accuracy is None or not self.n_evaluation:
            return None
        return self.evaluation_accuracy / self.n_evaluation


STOP_REASONS = ("completed", "early-stopping", "eta-floor", "callback", "interrupted")


@dataclass
class History:
    """The records of one SGD call. `best_epoch` is the epoch with the highest evaluation accuracy
    (when evaluated); `stop_reason` is one of STOP_REASONS; `restored_best` says whether the
    parameters were reset to those of the best epoch at the end."""

    records: List[EpochRecord] = field(default_factory=list)
    best_epoch: Optional[int] = None
    stop_reason: str = "completed"
    restored_best: bool = False
    settings: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.records)

    def column(self, name):
        """One field over the epochs, e.g. history.column("evaluation_accuracy")."""
        return [getattr(r, name) for r in self.records]

    def to_dict(self):
        return {
            "records": [asdict(r) for r in self.records],
            "best_epoch": self.best_epoch,
            "stop_reason": self.stop_reason,
            "restored_best": self.restored_best,
            "settings": dict(self.settings),
        }

    def to_json(self, **kwargs):
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, d):
        return cls(records=[EpochRecord(**r) for r in d.get("records", [])],
                   best_epoch=d.get("best_epoch"), stop_reason=d.get("stop_reason", "completed"),
                   restored_best=d.get("restored_best", False), settings=d.get("settings", {}))
