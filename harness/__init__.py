"""Harness: turns an experiment Spec into a RunResult, trained now or loaded from the run store."""
