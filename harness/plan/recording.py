"""A stand-in for the RunStore that records which runs a claim asks for and trains nothing.

Planning runs the selected claim tests against a RecordingStore: every `get(spec)`
is recorded and answered with the cached result when the real store has one, else
with a placeholder RunResult whose curves and probe records have the shapes and
lengths a real run of that Spec would have (deterministic values drawn from the
run key; each probe shapes its own record, `Probe.placeholder` in harness/catalog/probes.py).
The test body then goes on to ask for its next runs; its outcome means nothing and
is discarded by harness/pytest_plugin/plan.py.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
import torch

from ..catalog.probes import PlannedRun, placeholder_curve, placeholder_results
from ..train.data import split_sizes
from ..runs.result import CURVE_FIELDS, RunResult
from ..runs.store import RunStore
from ..runs.spec import Spec

# Claims that compare timings only on a GPU read the device: the placeholder says cuda so they go on.
PLACEHOLDER_DEVICE = "cuda (plan placeholder, not trained)"


def steps_per_epoch(spec: Spec) -> int:
    train, _ = split_sizes(spec.dataset, spec.split, spec.train_subset, spec.test_subset)
    return -(-train // spec.batch_size)


def _meta_model(spec: Spec) -> torch.nn.Module:
    from ..train.loop import build_model

    with torch.device("meta"):  # shapes only, no weights
        return build_model(spec)


def placeholder_result(spec: Spec) -> RunResult:
    """A RunResult shaped like a finished run of `spec`; its values are noise seeded by the run key."""
    rng = random.Random(spec.key)
    n = spec.epochs
    curves: dict[str, list[float]] = {name: [0.0] * n for name in CURVE_FIELDS}
    curves.update(epoch=list(range(1, n + 1)), lr=[spec.lr] * n,
                  train_loss=placeholder_curve(rng, n, 2.3, 0.1), test_loss=placeholder_curve(rng, n, 2.3, 0.4),
                  train_acc=placeholder_curve(rng, n, 0.1, 0.97), test_acc=placeholder_curve(rng, n, 0.1, 0.9),
                  epoch_time=[1.0] * n, step_time=[0.7] * n, data_time=[0.1] * n, eval_time=[0.1] * n,
                  probe_time=[0.1 if spec.probes else 0.0] * n)
    run = PlannedRun(epochs=spec.epochs, steps_per_epoch=steps_per_epoch(spec), optimizer=spec.optimizer,
                     meta_model=lambda: _meta_model(spec))
    probes = placeholder_results(spec.probes, spec.kwargs("probe_args"), run, rng)
    return RunResult(key=spec.key, spec=spec.to_dict(), status="completed", curves=curves,
                     final_test_acc=curves["test_acc"][-1], best_test_acc=max(curves["test_acc"]),
                     final_train_acc=curves["train_acc"][-1], param_count=0, wall_time=float(n),
                     environment={"device": PLACEHOLDER_DEVICE, "gpu": "plan placeholder", "placeholder": True},
                     extra={"placeholder": True, **({"probes": probes} if probes else {})})


@dataclass
class Request:
    """One `get` of a claim test: the run's Spec and whether the store already holds it."""

    spec: Spec
    cached: bool


@dataclass
class RecordingStore:
    """Duck-types RunStore for Claim: records each requested Spec, never trains."""

    real: RunStore
    requests: list[Request] = field(default_factory=list)
    mode: str = "train"  # Claim reads it: planning must not skip uncached runs as cached-only would

    @property
    def root(self):
        return self.real.root

    def load(self, spec: Spec) -> RunResult | None:
        return self.real.load(spec)

    def get(self, spec: Spec) -> RunResult:
        cached = self.real.load(spec)
        self.requests.append(Request(spec, cached is not None))
        return cached if cached is not None else placeholder_result(spec)

    def take(self) -> list[Request]:
        """The requests since the last call (one test's runs)."""
        out, self.requests = self.requests, []
        return out
