"""Parameter counts quoted by reports 001, 002 and 003, with MACs per 32x32 image alongside.

Report 000's counts live with its other claims (test_000_9e3337487a7f39ea.py).
Each entry: claim id -> (registry name, constructor kwargs, unit of the reported figure).
"""
import pytest

from harness.claim import model_size

MILLIONS, COUNT = 1e6, 1

MODELS = {
    # report 001, Table 1 (ModifiedResNet; only the stem conv is 5x5)
    "001/params/model5": ("modified_resnet", {}, COUNT),
    "001/params/model8": ("modified_resnet", {"blocks": (3, 3, 3, 3)}, COUNT),
    "001/params/five-layer-models": ("modified_resnet", {"channels": (32, 64, 128, 128, 256),
                                                         "blocks": (2, 2, 2, 2, 3)}, COUNT),
    # report 002, Sec. 1.1 and Sec. 1.9 (closest architectures the text supports)
    "002/params/mynet": ("mynet", {}, COUNT),
    "002/params/myresnet9": ("myresnet9", {}, COUNT),
    # report 003, Table 1
    "003/params/resnet18": ("resnet18", {}, MILLIONS),
    "003/params/preact_resnet18": ("preact_resnet18", {}, MILLIONS),
    "003/params/wrn28_10": ("wrn28_10", {"conv_bias": True}, MILLIONS),
    "003/params/resnext29_32x4d": ("resnext29_32x4d", {}, MILLIONS),
    "003/params/densenet121": ("densenet121", {}, MILLIONS),
    "003/params/dpn26": ("dpn26", {}, MILLIONS),
    "003/params/dla": ("dla", {}, MILLIONS),
    # report 003, Table 2
    "003/params/resnet50": ("resnet50", {}, MILLIONS),
    "003/params/resnext29_2x32d": ("resnext29_2x32d", {}, MILLIONS),
    "003/params/resnext29_2x64d": ("resnext29_2x64d", {}, MILLIONS),
    "003/params/resnext29_8x64d": ("resnext29_8x64d", {}, MILLIONS),
    "003/params/resnext50_2x40d": ("resnext50_2x40d", {}, MILLIONS),
    "003/params/resnext50_8x14d": ("resnext50_8x14d", {}, MILLIONS),
    "003/params/resnext50_32x4d": ("resnext50_32x4d", {}, MILLIONS),
}


@pytest.mark.parametrize("cid", MODELS)
@pytest.mark.claim("{cid}")
def test_parameter_count_matches_the_report(claim, cid):
    """The model the text describes has the parameter count the report prints (to its rounding)."""
    name, kwargs, unit = MODELS[cid]
    params, macs = model_size(name, kwargs)
    claim.note(f"built {name}({kwargs}): {params:,} parameters, {macs / 1e6:,.1f}M MACs per 32x32 image")
    label = "parameters (M)" if unit == MILLIONS else "parameters"
    claim.check_within(label, params / unit, claim.reported)
