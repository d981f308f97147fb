"""The reproducibility options, validated once at start-up.

A bad value (`--checkpoint-every 0`, `--base-seed -3`, `REPRO_DOWNLOAD=maybe`, `--device cuda`
on a machine without CUDA) is one usage error before any test runs, not a ZeroDivisionError
after an epoch of training or the same error once per test. Yes/no environment variables
all read 1/true/yes/on and 0/false/no/off, case-insensitively.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

import pytest

from .runs.store import MODES as RUN_MODES

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
DEVICES = "auto, cpu, cuda or cuda:N"

# option name (as pytest stores it) -> environment variable that stands in when the option is not given
ENV = {"device": "REPRO_DEVICE", "checkpoint_every": "REPRO_CHECKPOINT_EVERY",
       "checkpoint_minutes": "REPRO_CHECKPOINT_MINUTES", "base_seed": "REPRO_BASE_SEED",
       "run_mode": "REPRO_RUN_MODE", "no_download": "REPRO_DOWNLOAD", "compile": "REPRO_COMPILE",
       "progress": "REPRO_PROGRESS"}
OPTIONS = ("device", "checkpoint_every", "checkpoint_minutes", "base_seed", "run_mode", "no_download", "compile")


def parse_bool(value: str | bool | None, name: str) -> bool | None:
    """A yes/no setting: None stays None (not set); anything but the known spellings is a ValueError."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(f"{name}={value!r} is neither yes nor no; use one of {'/'.join(TRUE)} or {'/'.join(FALSE)}")


@dataclass(frozen=True)
class Settings:
    """The validated options a session runs with."""

    device: str = "auto"
    download: bool = True
    checkpoint_every: int = 1
    checkpoint_minutes: float = 5.0
    base_seed: int = 0
    run_mode: str = "train"
    compile: bool | None = None  # None: train() reads $REPRO_COMPILE (already validated here)


def validate(options: Mapping[str, Any], environ: Mapping[str, str] | None = None,
             check_cuda: bool = True) -> Settings:
    """Settings from pytest's option values (None where not given) and the environment, or one UsageError."""
    environ = os.environ if environ is None else environ
    problems: list[str] = []

    def pick(name: str) -> tuple[Any, str]:
        """The option's value and how the user spelled it, else the environment's."""
        value = options.get(name)
        if value is not None and value is not False:
            return value, f"--{name.replace('_', '-')}"
        return environ.get(ENV[name]), f"${ENV[name]}"

    def integer(name: str, default: int, least: int) -> int:
        value, where = pick(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            problems.append(f"{where} {value!r} is not an integer")
            return default
        if number < least:
            problems.append(f"{where} {number} must be at least {least}")
        return number

    def yes_no(name: str) -> bool | None:
        value = environ.get(ENV[name])
        try:
            return parse_bool(value or None, ENV[name])
        except ValueError as exc:
            problems.append(str(exc))
            return None

    checkpoint_every = integer("checkpoint_every", 1, least=1)
    minutes, where = pick("checkpoint_minutes")
    checkpoint_minutes = 5.0
    if minutes not in (None, ""):
        try:
            checkpoint_minutes = float(minutes)
            if not checkpoint_minutes >= 0:
                problems.append(f"{where} {minutes} must be at least 0")
        except (TypeError, ValueError):
            problems.append(f"{where} {minutes!r} is not a number of minutes")
    base_seed = integer("base_seed", 0, least=0)
    run_mode, where = pick("run_mode")
    if run_mode and run_mode not in RUN_MODES:
        problems.append(f"{where} {run_mode!r} is not a run mode; use one of {', '.join(RUN_MODES)}")
    download_env = yes_no("no_download")
    download = False if options.get("no_download") else (True if download_env is None else download_env)
    compile_env = yes_no("compile")
    yes_no("progress")
    device, where = pick("device")
    device_problem = _device_problem(str(device or "auto"), where, check_cuda)
    if device_problem:
        problems.append(device_problem)
    if problems:
        raise pytest.UsageError("reproducibility options:\n  " + "\n  ".join(problems))
    return Settings(device=str(device or "auto"), download=download, checkpoint_every=checkpoint_every,
                    checkpoint_minutes=checkpoint_minutes,
                    base_seed=base_seed, run_mode=run_mode or "train",
                    compile=True if options.get("compile") else compile_env)


def _device_problem(name: str, where: str, check_cuda: bool) -> str | None:
    """Why `name` cannot train here, or None. CUDA is asked only when a CUDA device is named."""
    if name == "auto":
        return None
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        return f"{where} {name!r} is not a device; use {DEVICES}"
    if device.type not in ("cpu", "cuda"):
        return f"{where} {name!r} is not a device this harness trains on; use {DEVICES}"
    if device.type == "cuda" and check_cuda and not torch.cuda.is_available():
        return f"{where} {name!r} but CUDA is not available on this machine; use --device cpu or auto"
    return None
