"""Model families, one per module; the registry and its functions live in `models.registry`.

Importing any harness.catalog module registers every family (see harness/catalog/__init__.py).
"""
from .registry import MODELS, count_parameters, create_model, list_models

__all__ = ["MODELS", "count_parameters", "create_model", "list_models"]
