"""What a claim test imports: `from harness.claim import Claim, Spec, best, ...`.

The Claim API (harness/claim/claim.py), the readings of runs (readings.py), band statistics
(bands.py), the recipe (Spec), and the model and data helpers the claims of reports/ read:
one place, so a claim file has one import block. The modules of harness/claim/ import each
other directly, never through this face, so importing it makes no cycle.
"""
from ..catalog.bn_probes import layer_input_change
from ..catalog.models import count_parameters, create_model
from ..catalog.sizes import model_size
from ..runs.spec import Spec
from ..train.data import Split, load_arrays, pooled_split
from . import bands
from .claim import Claim, ClaimCheckFailed, ClaimContext, ClaimInconclusive, UndecidableCheck
from .readings import (Measured, best, early, epoch_time, final, final_train_acc, final_train_loss, mean_acc_drop,
                       mean_train_acc, mean_train_loss, per_arm, relative_epoch_time, steadiness, train_test_gap)

__all__ = ["Claim", "ClaimCheckFailed", "ClaimContext", "ClaimInconclusive", "Measured", "Spec", "Split",
           "UndecidableCheck", "bands", "best", "count_parameters", "create_model", "early", "epoch_time", "final",
           "final_train_acc", "final_train_loss", "layer_input_change", "load_arrays", "mean_acc_drop", "mean_train_acc", "mean_train_loss",
           "model_size", "per_arm", "pooled_split", "relative_epoch_time", "steadiness", "train_test_gap"]
