"""What the three entry points (claims, plan, rehearse) share: the options, read once, and the session's parts.

Every option of every mode is declared in harness/settings.py's table with its variable and type;
`add_options` turns the table into pytest options and `settings_of` reads them, once per process,
into a validated Settings (a bad value is one usage error before any test). The reference, the run
store and whether the full tier can train here are built here too, so that each is decided in
one place.
"""
from __future__ import annotations

import pytest

from .. import settings as settings_module
from ..reference.entries import ReferenceError, ReportEntry, load_all
from ..runs.store import RunStore
from ..settings import OPTIONS, Settings, SettingsError
from ..train.device import resolve_device
from ..train.loop import train

GROUP = "reproducibility"
SETTINGS = pytest.StashKey[Settings]()
REFERENCE = pytest.StashKey[dict]()


def add_options(parser: pytest.Parser) -> None:
    """Every option of the table, in one group; each help names its variable."""
    group = parser.getgroup(GROUP, "reproducibility claims")
    for option in OPTIONS:
        if option.flag is None:
            continue
        env = f" (env {option.env})" if option.env else ""
        if option.switch:
            group.addoption(option.flag, action="store_true", default=None, help=option.help + env)
        else:
            group.addoption(option.flag, metavar=option.metavar, default=None, help=option.help + env)


def settings_of(config: pytest.Config) -> Settings:
    """The session's validated settings, read on first use; a bad value is one UsageError naming each."""
    if SETTINGS not in config.stash:
        given = {o.name: config.getoption(o.name, default=None) for o in OPTIONS if o.flag}
        try:
            config.stash[SETTINGS] = settings_module.read(given)
        except SettingsError as exc:
            raise pytest.UsageError(f"reproducibility options:\n  {exc}") from None
    return config.stash[SETTINGS]


def recording(config: pytest.Config) -> bool:
    """Claim bodies only record their runs (--plan, --rehearse): nothing trains and no finding is kept."""
    return bool(config.getoption("plan", default=None) or config.getoption("rehearse", default=None))


def reference(config: pytest.Config) -> dict[str, ReportEntry]:
    """The reference entries, loaded once per process; a bad file is a usage error naming it."""
    if REFERENCE not in config.stash:
        try:
            config.stash[REFERENCE] = load_all()
        except ReferenceError as exc:
            raise pytest.UsageError(str(exc)) from None
    return config.stash[REFERENCE]


def make_store(config: pytest.Config) -> RunStore:
    """The session's run store, training with the harness's loop and the session's settings."""
    chosen = settings_of(config)
    train_kwargs = {
        "device": chosen.device,  # each run trains on its Spec's device kind (fast: CPU, full: CUDA by default)
        "data_root": chosen.data_root,
        "download": chosen.download,
        "checkpoint_every": chosen.checkpoint_every,
        "checkpoint_minutes": chosen.checkpoint_minutes,
        "compile": chosen.compile,
    }
    return RunStore(chosen.runs, chosen.run_mode, trainer=train, train_kwargs=train_kwargs,
                    keep_checkpoints=chosen.keep_checkpoints)


def can_train_full(config: pytest.Config) -> bool:
    """The full tier trains here: a GPU is present, or the user named the CPU (--device cpu).

    The one place that decides it; a pinned worker without its GPU stops here (WorkerDeviceError).
    """
    device = settings_of(config).device
    return device == "cpu" or resolve_device(device).type == "cuda"
