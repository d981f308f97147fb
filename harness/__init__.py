"""Harness: turns an experiment Spec into a RunResult, trained now or loaded from the run store."""
from . import cpu as _cpu

_cpu.apply()  # before torch initialises: CPU results must not depend on the machine (harness/cpu.py)
