"""Every setting of the suite, declared once: its option, its environment variable, its type.

This module is the only reader of `REPRO_*` variables (harness/cpu.py reads its own before torch
starts; worker pinning passes GPU ids between processes). A value is typed and validated when it
is read: a bad one (`--checkpoint-every 0`, `REPRO_DOWNLOAD=maybe`, `REPRO_RUN_QUEUE=sometimes`)
is one `SettingsError` naming the option or the variable and the values it takes, not a
ZeroDivisionError after an epoch of training. pytest sessions read all of them once
(`read`, harness/pytest_plugin/config.py); library code outside a session (a `train()` call, a
RunStore, `run-store`, `run-slurm`) asks for one value at a time (`value`).

Yes/no variables all read 1/true/yes/on and 0/false/no/off, case-insensitively.
"""
from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Mapping

from . import cpu

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
DEVICES = "auto, cpu, cuda or cuda:N"
RUN_MODES = ("train", "cached-only", "retrain")
DEFAULT_DATA_ROOT = Path("~/.cache/cifar-claims/data")
DEFAULT_RUNS_DIR = Path(".runs")
MAX_SEED = 2**31 - 1  # numpy and torch generators take seeds below 2**32; base seed + offsets stay below it


class SettingsError(ValueError):
    """One or more settings have values the suite cannot use; the message names each and the fix."""


def parse_bool(value: str | bool | None, name: str) -> bool | None:
    """A yes/no setting: None stays None (not set); anything but the known spellings is a SettingsError."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise SettingsError(f"{name}={value!r} is neither yes nor no; use one of {'/'.join(TRUE)} or {'/'.join(FALSE)}")


# -- value types: text -> value, or SettingsError naming `where` --------------------------------------

def _integer(least: int, most: int | None = None) -> Callable[[Any, str], int]:
    def parse(raw: Any, where: str) -> int:
        try:
            number = int(str(raw).strip()) if not isinstance(raw, int) or isinstance(raw, bool) else raw
        except ValueError:
            raise SettingsError(f"{where} {raw!r} is not a whole number") from None
        if number < least:
            raise SettingsError(f"{where} {number} must be at least {least}")
        if most is not None and number > most:
            raise SettingsError(f"{where} {number} must be at most {most}")
        return number
    return parse


def _number(least: float) -> Callable[[Any, str], float]:
    def parse(raw: Any, where: str) -> float:
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{where} {raw!r} is not a number") from None
        if not math.isfinite(number) or number < least:
            raise SettingsError(f"{where} {raw} must be a finite number of at least {least:g}")
        return number
    return parse


def _yes_no(raw: Any, where: str) -> bool:
    return bool(parse_bool(raw, where))


def _text(raw: Any, where: str) -> str:
    text = str(raw).strip()
    if not text:
        raise SettingsError(f"{where} is empty")
    return text


def _folder(raw: Any, where: str) -> Path:
    """A folder that is there or can be made: an existing file of that name is an error now, not later."""
    path = Path(_text(raw, where)).expanduser()
    if path.exists() and not path.is_dir():
        raise SettingsError(f"{where} {str(raw)!r} is a file, not a folder; name a folder")
    return path


def _choice(choices: tuple[str, ...]) -> Callable[[Any, str], str]:
    def parse(raw: Any, where: str) -> str:
        text = str(raw).strip()
        if text not in choices:
            raise SettingsError(f"{where} {raw!r} is not one of {', '.join(choices)}")
        return text
    return parse


_DURATION_UNITS = {"h": 3600, "m": 60, "s": 1}


def _duration(raw: Any, where: str) -> float:
    """Seconds of '90m', '1h', '2h30m', '45s' or a bare number of minutes ('90')."""
    text = str(raw).strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text) * 60
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", text)
        units = [unit for _, unit in parts]
        if not parts or "".join(n + u for n, u in parts) != text or units != sorted(set(units), key="hms".index):
            raise SettingsError(f"{where} {raw!r} is not a duration; write it as 90m, 1h, 2h30m or 45s")
        seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise SettingsError(f"{where} {raw!r} is no time at all; give a duration above zero")
    return seconds


def _device(raw: Any, where: str) -> str:
    """auto, cpu, cuda or cuda:N. Whether CUDA is there is asked only for a CUDA device (check_cuda)."""
    text = str(raw).strip()
    if text == "auto":
        return text
    import torch

    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise SettingsError(f"{where} {raw!r} is not a device; use {DEVICES}") from None
    if device.type not in ("cpu", "cuda"):
        raise SettingsError(f"{where} {raw!r} is not a device this harness trains on; use {DEVICES}")
    return text


# -- the table ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Option:
    """One setting: the pytest option, the variable that stands in for it, its type, default and help."""

    name: str  # as pytest stores it, and as Settings names it
    env: str | None  # REPRO_* stand-in when the option is not given
    parse: Callable[[Any, str], Any]
    default: Any
    help: str
    flag: str | None = None  # the command-line option; None: environment only
    metavar: str | None = None
    switch: bool = False  # a --flag that takes no value (given: True)
    mode: str = "claims"  # which session mode uses it: claims, plan, rehearse, library

    @property
    def where(self) -> str:
        return self.flag or f"${self.env}"


OPTIONS: tuple[Option, ...] = (
    Option("data_root", "REPRO_DATA", _folder, DEFAULT_DATA_ROOT, flag="--data-root", metavar="DIR",
           help="folder with cifar-10-batches-py/ and MNIST/raw/ (default ~/.cache/cifar-claims/data)"),
    Option("download", "REPRO_DOWNLOAD", _yes_no, True,
           help="download missing datasets (yes/no; --no-download says no)"),
    Option("no_download", None, _yes_no, False, flag="--no-download", switch=True,
           help="never download missing datasets (env REPRO_DOWNLOAD=0)"),
    Option("runs", "REPRO_RUNS", _folder, DEFAULT_RUNS_DIR, flag="--runs", metavar="DIR",
           help="run store directory (default .runs)"),
    Option("run_mode", "REPRO_RUN_MODE", _choice(RUN_MODES), "train", flag="--run-mode", metavar="MODE",
           help="train missing runs (train, the default), use cached runs only (cached-only), or retrain"),
    Option("checkpoint_every", "REPRO_CHECKPOINT_EVERY", _integer(1), 1, flag="--checkpoint-every", metavar="N",
           help="save a resumable checkpoint every N epochs (default 1)"),
    Option("checkpoint_minutes", "REPRO_CHECKPOINT_MINUTES", _number(0.0), 5.0, flag="--checkpoint-minutes",
           metavar="M", help="at most one checkpoint per M minutes of training (default 5; 0: at every "
                             "--checkpoint-every epoch)"),
    Option("keep_checkpoints", None, _yes_no, False, flag="--keep-checkpoints", switch=True,
           help="keep each run's last checkpoint after it completes (default: removed)"),
    Option("device", "REPRO_DEVICE", _device, "auto", flag="--device", metavar="DEV",
           help="auto (default), cpu, cuda or cuda:N; naming cpu lets full-tier claims train on the CPU"),
    Option("compile", "REPRO_COMPILE", _yes_no, False, flag="--compile", switch=True,
           help="torch.compile each model before training (default off); the compile time is recorded with each run"),
    Option("progress", "REPRO_PROGRESS", _yes_no, None,
           help="per-run progress bars (default: on for an interactive terminal, off in CI logs)"),
    Option("report_dir", "REPRO_REPORT_DIR", _folder, Path("report"), flag="--report-dir", metavar="DIR",
           help="where findings.json and the HTML/PDF report go (default report)"),
    Option("no_report", None, _yes_no, False, flag="--no-report", switch=True,
           help="write findings.json but do not build the HTML/PDF report"),
    Option("base_seed", "REPRO_BASE_SEED", _integer(0, MAX_SEED - 10_000), 0, flag="--base-seed", metavar="N",
           help="first seed of every claim's seed list (default 0)"),
    Option("seeds_until_decided", "REPRO_SEEDS_UNTIL_DECIDED", _integer(0, 1000), 0, flag="--seeds-until-decided",
           metavar="N", help="adaptive seeding: a check inconclusive at its reference seeds gets more, in looks (3, 5, "
                             "8, ... seeds per arm) up to N, until it decides; each look tests at its share of the 5% "
                             "error (group-sequential alpha spending, harness/claim/sequential.py). 0 (default): "
                             "the reference's fixed seeds"),
    Option("run_queue", "REPRO_RUN_QUEUE", _yes_no, None, flag="--run-queue", switch=True,
           help="under -n N: plan the selection first and train its missing runs longest first from a queue "
                "shared by the workers, before the tests (default: on for the full tier and under --budget; "
                "REPRO_RUN_QUEUE=0 turns it off)"),
    Option("budget", "REPRO_BUDGET", _duration, None, flag="--budget", metavar="TIME",
           help="run only the claims whose missing runs fit TIME on this device (90m, 1h, 2h30m), cheapest "
                "first by the plan's estimate; lists what it left out and what each would cost"),
    Option("session", "REPRO_SESSION", _text, None, mode="library",
           help="the session id stamped on findings and retrained runs (default: a new one per session)"),
    Option("reference", "REPRO_REFERENCE", _folder, None, mode="library",
           help="folder of reference YAML files to use instead of the project's reference/"),
    Option("plan", None, _yes_no, False, flag="--plan", switch=True, mode="plan",
           help="train nothing: list every distinct run the selected claims need, with its cost and estimated "
                "time; writes plan.json and plan.csv"),
    Option("plan_dir", "REPRO_PLAN_DIR", _folder, Path("plan"), flag="--plan-dir", metavar="DIR", mode="plan",
           help="where --plan writes plan.json and plan.csv (default plan)"),
    Option("plan_device", "REPRO_PLAN_DEVICE", _text, "auto", flag="--plan-device", metavar="KIND", mode="plan",
           help="device the --plan time estimate is for: auto (default: this machine's GPU, else cpu), cpu, or "
                "a GPU of harness/plan/cost.py GPU_DATASHEET (H100, A100, ...)"),
    Option("plan_workers", "REPRO_PLAN_WORKERS", _integer(1, 100_000), None, flag="--plan-workers", metavar="N",
           mode="plan", help="workers (GPUs) the --plan wall-time estimate assumes (default: -n N, else 1)"),
    Option("rehearse", None, _yes_no, False, flag="--rehearse", switch=True, mode="rehearse",
           help="train nothing for real: rehearse every distinct run the selected claims need on the CPU (two "
                "steps, one evaluation, checkpoint and resume, the planned learning rate); writes "
                "rehearsal.json and rehearsal.csv, fails naming any run that failed"),
    Option("rehearse_dir", "REPRO_REHEARSE_DIR", _folder, Path("rehearsal"), flag="--rehearse-dir", metavar="DIR",
           mode="rehearse", help="where --rehearse writes rehearsal.json and rehearsal.csv (default rehearsal)"),
    Option("rehearse_images", "REPRO_REHEARSE_IMAGES", _integer(1), 2, flag="--rehearse-images", metavar="N",
           mode="rehearse", help="images per rehearsed training step (default 2)"),
)
BY_NAME = {option.name: option for option in OPTIONS}


@dataclass(frozen=True)
class Settings:
    """The validated settings a session runs with (every field of OPTIONS, `download` resolved)."""

    data_root: Path = DEFAULT_DATA_ROOT
    download: bool = True
    no_download: bool = False
    runs: Path = DEFAULT_RUNS_DIR
    run_mode: str = "train"
    checkpoint_every: int = 1
    checkpoint_minutes: float = 5.0
    keep_checkpoints: bool = False
    device: str = "auto"
    compile: bool = False
    progress: bool | None = None
    report_dir: Path = Path("report")
    no_report: bool = False
    base_seed: int = 0
    seeds_until_decided: int = 0
    run_queue: bool | None = None
    budget: float | None = None  # seconds
    session: str | None = None
    reference: Path | None = None
    plan: bool = False
    plan_dir: Path = Path("plan")
    plan_device: str = "auto"
    plan_workers: int | None = None
    rehearse: bool = False
    rehearse_dir: Path = Path("rehearsal")
    rehearse_images: int = 2


def _given(option: Option, options: Mapping[str, Any]) -> Any:
    """The option's command-line value, or None when it was not given (a switch not given is None too)."""
    value = options.get(option.name)
    if option.switch and value is False:
        return None
    return value


def value(name: str, given: Any = None, environ: Mapping[str, str] | None = None) -> Any:
    """One setting: `given` (an argument, an option), else its variable, else its default; typed, validated."""
    option = BY_NAME[name]
    if given is not None:
        return option.parse(given, option.where)
    environ = os.environ if environ is None else environ
    raw = environ.get(option.env) if option.env else None
    if raw is None or raw == "":
        return option.default
    return option.parse(raw, f"${option.env}")


def read(options: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None,
         check_cuda: bool = True) -> Settings:
    """All settings from option values (None where not given) and the environment, or one SettingsError."""
    options = options or {}
    problems: list[str] = []
    values: dict[str, Any] = {}
    for option in OPTIONS:
        try:
            values[option.name] = value(option.name, _given(option, options), environ)
        except SettingsError as exc:
            problems.append(str(exc))
            values[option.name] = option.default
    if values["no_download"]:
        values["download"] = False
    if check_cuda and not problems:
        problem = cuda_problem(values["device"], BY_NAME["device"].where if options.get("device") else "$REPRO_DEVICE")
        if problem:
            problems.append(problem)
    if cpu.problem():
        problems.append(cpu.problem())
    if values["plan"] and values["rehearse"]:
        problems.append("--plan and --rehearse are two modes; give one")
    if problems:
        raise SettingsError("\n  ".join(problems))
    return Settings(**{f.name: values[f.name] for f in fields(Settings)})


def cuda_problem(device: str, where: str) -> str | None:
    """Why a named CUDA device cannot train on this machine, or None. CUDA is asked only when one is named."""
    if device == "auto" or not device.startswith("cuda"):
        return None
    import torch

    if not torch.cuda.is_available():
        return f"{where} {device!r} but CUDA is not available on this machine; use --device cpu or auto"
    return None


# -- what library code asks outside a pytest session ---------------------------------------------------

def data_root(given: str | os.PathLike | None = None) -> Path:
    """Option value, else $REPRO_DATA, else ~/.cache/cifar-claims/data (absolute)."""
    return Path(value("data_root", given)).expanduser().resolve()


def download_allowed(flag: bool | None = None) -> bool:
    """Whether a missing dataset may be downloaded: the flag, else $REPRO_DOWNLOAD, else yes."""
    return flag if flag is not None else value("download")


def runs_dir(given: str | os.PathLike | None = None) -> Path:
    return Path(value("runs", given)).expanduser().resolve()


def run_mode(given: str | None = None) -> str:
    return value("run_mode", given)


def session_id(given: str | None = None) -> str | None:
    return value("session", given)


def device_name(given: str | None = None) -> str:
    """The device asked for: the argument, else $REPRO_DEVICE, else auto."""
    return value("device", None if given is None else str(given))


def progress_enabled(flag: bool | None = None) -> bool:
    """On for an interactive terminal, off in CI logs; $REPRO_PROGRESS=0/1 forces it."""
    if flag is not None:
        return flag
    forced = value("progress")
    if forced is not None:
        return forced
    return sys.__stderr__ is not None and sys.__stderr__.isatty() and not os.environ.get("CI")


def compile_enabled(flag: bool | None = None) -> bool:
    """torch.compile is off unless asked for ($REPRO_COMPILE=1 or compile=True)."""
    return flag if flag is not None else value("compile")


def reference_dir(given: str | os.PathLike | None = None) -> Path | None:
    """A reference folder chosen by argument or $REPRO_REFERENCE; None: the project's own."""
    chosen = value("reference", given)
    return None if chosen is None else Path(chosen)


def queue_wanted() -> bool:
    """$REPRO_RUN_QUEUE (yes/no)."""
    return value("run_queue")


def set_for_child_processes(name: str, text: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Put a setting into an environment that child processes inherit (a session id, the queue off)."""
    environ = os.environ if environ is None else environ
    environ[BY_NAME[name].env] = text
    return environ


def env_name(name: str) -> str:
    """The variable that stands in for a setting, for help texts and messages."""
    return BY_NAME[name].env
