"""A stand-in for the RunStore that records which runs a claim asks for and trains nothing.

Planning runs the selected claim tests against a RecordingStore: every `get(spec)`
is recorded and answered with the cached result when the real store has one, else
with a placeholder RunResult whose curves and probe records have the shapes and
lengths a real run of that Spec would have (deterministic values drawn from the
run key). The test body then goes on to ask for its next runs; its outcome means
nothing and is discarded by harness/plan_plugin.py.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable

from ..train.data import split_sizes
from ..runs.result import CURVE_FIELDS, RunResult
from ..runs.store import RunStore
from ..runs.spec import Spec

# Claims that compare timings only on a GPU read the device: the placeholder says cuda so they go on.
PLACEHOLDER_DEVICE = "cuda (plan placeholder, not trained)"


def steps_per_epoch(spec: Spec) -> int:
    train, _ = split_sizes(spec.dataset, spec.split, spec.train_subset, spec.test_subset)
    return -(-train // spec.batch_size)


def _curve(rng: random.Random, n: int, start: float, end: float, rate: float = 3.0, noise: float = 0.01) -> list[float]:
    """`n` values easing from `start` to `end` with a little noise: a plausible training curve."""
    return [end + (start - end) * math.exp(-rate * (i + 1) / n) + rng.uniform(-noise, noise) for i in range(n)]


# -- probe placeholders: one per registered probe, same keys and series lengths as its result() --------------------

ProbePlaceholder = Callable[[Spec, dict[str, Any], random.Random], Any]


def _step_loss(spec: Spec, args: dict[str, Any], rng: random.Random) -> list[float]:
    return _curve(rng, steps_per_epoch(spec) * spec.epochs, 2.3, 0.3, noise=0.2)


def _grad_change(spec: Spec, args: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    every = args.get("every", 1)
    steps = [s for s in range(steps_per_epoch(spec) * spec.epochs - 1) if s % every == 0]
    n = len(steps)
    return {"definition": "placeholder", "every": every, "step": steps,
            **{name: [abs(v) for v in _curve(rng, n, 1.0, 0.1, noise=0.05)]
               for name in ("grad_diff", "beta_lr", "beta_w", "grad_norm")}}


def _line_search(spec: Spec, args: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    every = args.get("every", 1)
    factors = [float(f) for f in args.get("eta_factors", (0.5, 1.0, 2.0, 3.0, 4.0))]
    steps = list(range(0, steps_per_epoch(spec) * spec.epochs, every))

    def rows(base: float) -> list[list[float]]:
        return [[base * (1 + f) * rng.uniform(0.5, 1.5) for f in factors] for _ in steps]

    return {"definition": "placeholder", "every": every, "eta_factors": factors, "step": steps,
            "loss": rows(1.0), "grad_diff": rows(0.5), "beta": rows(2.0),
            "grad_norm": [rng.uniform(0.5, 1.5) for _ in steps]}


def _slbi_support(spec: Spec, args: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    epochs = list(range(1, spec.epochs + 1))
    return {"epochs": epochs, "support_share": {"placeholder.weight": [rng.random() for _ in epochs]},
            "filter_entry_epoch": {"placeholder.weight": [rng.randint(0, spec.epochs - 1)]}}


def _prune_curve(spec: Spec, args: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    ratios = [float(r) for r in args.get("ratios", (0, 10, 20, 30, 40, 50, 60, 70, 80))]
    sets = args.get("sets") or {"conv3": ["conv3.weight"]}
    unpruned = rng.uniform(0.9, 0.99)
    return {"method": args.get("method", "order"), "ratios": ratios, "unpruned": unpruned,
            "accuracy": {label: [unpruned - 0.001 * r * rng.random() for r in ratios] for label in sets},
            "pruned": {label: [{layer: 0 for layer in layers} for _ in ratios] for label, layers in sets.items()}}


def _conv_weights(spec: Spec, args: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    import torch

    from ..train.loop import build_model

    layer = args.get("layer", "conv3.weight")
    with torch.device("meta"):  # the layer's shape, without weights
        out_channels, in_channels = dict(build_model(spec).named_parameters())[layer].shape[:2]
    out = {"layer": layer, "threshold": args.get("threshold", 0.01), "near_zero_share": rng.random(),
           "mean_abs": rng.random(), "kernel_norms": [[rng.random() for _ in range(in_channels)]
                                                      for _ in range(out_channels)]}
    if spec.optimizer.startswith("slbi"):
        out["support_share"] = rng.random()
    return out


PROBE_PLACEHOLDERS: dict[str, ProbePlaceholder] = {
    "step_loss": _step_loss, "grad_change": _grad_change, "line_search": _line_search,
    "slbi_support": _slbi_support, "prune_curve": _prune_curve, "conv_weights": _conv_weights,
}


class MissingPlaceholderError(KeyError):
    """A probe without a placeholder: planning cannot answer for runs that carry it."""


def placeholder_result(spec: Spec) -> RunResult:
    """A RunResult shaped like a finished run of `spec`; its values are noise seeded by the run key."""
    rng = random.Random(spec.key)
    n = spec.epochs
    curves: dict[str, list[float]] = {name: [0.0] * n for name in CURVE_FIELDS}
    curves.update(epoch=list(range(1, n + 1)), lr=[spec.lr] * n,
                  train_loss=_curve(rng, n, 2.3, 0.1), test_loss=_curve(rng, n, 2.3, 0.4),
                  train_acc=_curve(rng, n, 0.1, 0.97), test_acc=_curve(rng, n, 0.1, 0.9),
                  epoch_time=[1.0] * n, step_time=[0.7] * n, data_time=[0.1] * n, eval_time=[0.1] * n,
                  probe_time=[0.1 if spec.probes else 0.0] * n)
    probes = {}
    for name in spec.probes:
        if name not in PROBE_PLACEHOLDERS:
            raise MissingPlaceholderError(
                f"probe {name!r} has no placeholder in harness/plan_store.py PROBE_PLACEHOLDERS: add one returning "
                f"what its result() returns, so --plan can follow claims that read it")
        probes[name] = PROBE_PLACEHOLDERS[name](spec, spec.kwargs("probe_args").get(name, {}), rng)
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
