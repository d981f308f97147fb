"""Reproducibility report: findings + run store -> HTML, PDF and CSV tables."""
