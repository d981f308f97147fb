"""Every name a Spec may use: models, losses, optimizers, schedules and probes.

This is the one module that imports the registrants. Python runs a package's
__init__ before any of its submodules, so importing any harness.catalog module
fills every registry; the registry modules themselves import none of their
registrants, which keeps the catalog free of import cycles (tests/test_catalog.py).
"""
from .models import (densenet, dla, dpn, lenet, modified_resnet, mynet, preact_resnet, resnet, resnet9,  # noqa: F401
                     resnext, vgg, wide_resnet)
from . import bn_probes, losses, optim, probes, slbi  # noqa: F401
