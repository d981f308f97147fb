import pytest

from harness.runs import spec as spec_module
from harness.runs.spec import Spec
from harness.claim.tiers import FAST_DEFAULTS, device_kind, scale


def make(**kw):
    base = dict(model="resnet18", epochs=200, lr=0.1, optimizer_args={"momentum": 0.9, "weight_decay": 5e-4},
                schedule="multistep", schedule_args={"milestones": [60, 120, 160], "gamma": 0.2})
    base.update(kw)
    return Spec(**base)


def test_equal_specs_share_a_key_whatever_the_dict_order():
    a = make(optimizer_args={"momentum": 0.9, "weight_decay": 5e-4})
    b = make(optimizer_args={"weight_decay": 5e-4, "momentum": 0.9})
    assert a == b and hash(a) == hash(b) and a.key == b.key


@pytest.mark.parametrize("change", [{"seed": 1}, {"lr": 0.01}, {"augment": ("crop",)},
                                    {"model_args": {"width": 2}}, {"precision": "bf16"},
                                    {"device": "cuda"}])
def test_any_field_change_changes_the_key(change):
    assert make().key != make(**change).key


def test_result_format_version_is_part_of_the_key(monkeypatch):
    before = make().key
    monkeypatch.setattr(spec_module, "RESULT_FORMAT_VERSION", spec_module.RESULT_FORMAT_VERSION + 1)
    assert make().key != before


def test_round_trip_through_dict_keeps_the_key():
    s = make(augment=("crop", "flip"), model_args={"width": 0.5})
    assert Spec.from_dict(s.to_dict()).key == s.key


def test_replace_merges_argument_dicts():
    s = make().replace(optimizer_args={"nesterov": True})
    assert s.kwargs("optimizer_args") == {"momentum": 0.9, "weight_decay": 5e-4, "nesterov": True}


def test_unknown_spec_field_is_an_error():
    with pytest.raises(ValueError, match="unknown Spec fields"):
        Spec.from_dict({"model": "resnet18", "epochz": 3})


def test_full_tier_is_the_recipe_itself_in_bf16_on_cuda():
    assert scale(make(), "full") == make(precision="bf16", device="cuda")
    assert scale(make(), "fast").precision == "fp32"


def test_cpu_keys_are_unchanged_by_the_device_field_and_cuda_keys_differ():
    cpu = make()
    assert '"device"' not in cpu.canonical_json()  # cached CPU runs keep their keys
    assert cpu.key == "39c9f7e05ae1e2fd"  # its key before the field existed
    cuda = make(device="cuda")
    assert '"device":"cuda"' in cuda.canonical_json() and cuda.key != cpu.key
    assert Spec.from_dict(cuda.to_dict()).key == cuda.key


def test_the_fast_tier_trains_on_the_cpu_and_the_full_tier_on_cuda_unless_told():
    assert scale(make(), "fast").device == "cpu" and scale(make(), "full").device == "cuda"
    for option, kind in ((None, None), ("auto", None), ("cpu", "cpu"), ("cuda", "cuda"), ("cuda:1", "cuda")):
        assert device_kind("fast", option) == (kind or "cpu")
        assert device_kind("full", option) == (kind or "cuda")
        assert scale(make(), "fast", device=option).device == (kind or "cpu")


def test_the_full_tier_trains_bf16_on_cuda_and_fp32_on_the_cpu():
    """CPUs emulate bf16 (a LeNet step 13x its fp32 time): the full tier's precision follows its device."""
    for option in (None, "auto", "cuda", "cuda:1"):
        assert scale(make(), "full", device=option).precision == "bf16"
    cpu = scale(make(), "full", device="cpu")
    assert (cpu.precision, cpu.device) == ("fp32", "cpu") and cpu == make()  # the report's recipe itself
    assert scale(make(probes=("prune_curve",)), "full", device="cpu").precision == "fp32"
    assert scale(make(), "full", {"precision": "bf16"}, device="cpu").precision == "bf16"  # a budget still wins


def test_a_device_index_is_not_a_device_kind():
    with pytest.raises(ValueError, match="device kind"):
        make(device="cuda:1")


def test_full_tier_keeps_gradient_probed_runs_and_explicit_overrides_in_fp32():
    assert scale(make(probes=("grad_change",)), "full").precision == "fp32"
    assert scale(make(), "full", {"precision": "fp32"}).precision == "fp32"


def test_fast_tier_shrinks_budget_and_keeps_the_comparison():
    fast = scale(make(), "fast")
    assert fast.epochs == FAST_DEFAULTS["epochs"]
    assert fast.train_subset == FAST_DEFAULTS["train_subset"]
    assert (fast.model, fast.lr, fast.optimizer_args) == (make().model, make().lr, make().optimizer_args)


def test_fast_tier_overrides_win_and_rescale_milestones():
    fast = scale(make(), "fast", {"epochs": 20, "model_args": {"width": 0.125}})
    assert fast.epochs == 20
    assert fast.kwargs("model_args") == {"width": 0.125}
    assert fast.kwargs("schedule_args")["milestones"] == [6, 12, 16]


def test_fast_tier_never_exceeds_the_recipe():
    assert scale(make(epochs=2), "fast").epochs == 2


def test_unknown_tier_is_an_error():
    with pytest.raises(ValueError, match="known tiers"):
        scale(make(), "medium")


def test_only_per_step_gradient_probes_keep_a_full_tier_run_in_fp32():
    assert scale(make(probes=("slbi_support", "prune_curve", "conv_weights")), "full").precision == "bf16"
    assert scale(make(probes=("step_loss",)), "full").precision == "bf16"
    assert scale(make(probes=("step_loss", "grad_change")), "full").precision == "fp32"
    assert scale(make(probes=("line_search",)), "full").precision == "fp32"
    assert scale(make(probes=("line_search",)), "full", {"precision": "bf16"}).precision == "bf16"


@pytest.mark.parametrize("device, precision", [("cpu", "fp32"), (None, "bf16")])
def test_a_full_tier_finding_records_the_precision_it_trained_at(tmp_path, device, precision):
    from harness.claim import Claim, ClaimContext
    from harness.claim.claim import BF16_ASSUMPTION
    from harness.reference.entries import ClaimEntry, TierPlan
    from harness.runs.store import RunStore

    entry = ClaimEntry(id="999/x", report="999_test", statement="A beats B", location="Table 1", kind="ordering",
                       reported=None, tiers={"full": TierPlan(seeds=1, tolerance={"margin": 0.0, "why": "t"})},
                       recipe={}, expect="reproduced", why=None, source_file="999_test.yaml")
    claim = Claim(entry=entry, tier="full", context=ClaimContext(store=RunStore(tmp_path), device=device))
    claim._same_precision("plain", claim.spec(Spec(model="lenet", dataset="synthetic_mnist")))
    assert claim.finding.budget["precision"] == precision
    assumed = claim.finding.recipe.get("assumed", {})
    assert assumed.get("precision") == (BF16_ASSUMPTION if precision == "bf16" else None)
