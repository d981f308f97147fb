"""Report 000: ResNet-18 searches on CIFAR-10 (Sec. 1.2) and the model table (Table 5)."""
import pytest

from harness.models import count_parameters, create_model
from harness.spec import Spec

# Sec. 1.2: "initial learning rate 0.01, batch size 128, ReduceLROnPlateau, 25 epochs";
# optimizer, plateau details and augmentation are assumptions recorded in reference/.
SEARCH = Spec(
    model="resnet18", epochs=25, batch_size=128, lr=0.01,
    optimizer="sgd", optimizer_args={"momentum": 0.9, "weight_decay": 5e-4},
    schedule="plateau", schedule_args={"patience": 5, "min_lr": 1e-6, "monitor": "test_loss"},
    augment=("rrc", "flip"), normalize="dataset",
)
LOSSES = ("cross_entropy", "bce", "mse", "huber", "soft_margin")


def loss_runs(claim, loss):
    return claim.runs(SEARCH.replace(loss=loss), label=loss)


@pytest.mark.claim("000/losses-ce-best")
def test_cross_entropy_gives_the_best_test_accuracy_of_five_losses(claim):
    """Table 1: cross-entropy beats BCE, MSE, Huber and SoftMargin on best test accuracy."""
    runs = {loss: loss_runs(claim, loss) for loss in LOSSES}
    claim.figure("curves", "Test accuracy per epoch, one line per loss and seed", runs)
    claim.check_ranks_first("cross_entropy", {k: [r.best_test_acc for r in rs] for k, rs in runs.items()},
                            metric="best test accuracy")


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.claim("000/table1/{loss}/best-test-acc")
def test_table1_best_test_accuracy_per_loss(claim, loss):
    """Table 1: each loss's best test accuracy after 25 epochs matches the reported cell."""
    runs = loss_runs(claim, loss)
    claim.figure("curves", f"Test accuracy per epoch ({loss})", {loss: runs})
    measured = sum(r.best_test_acc for r in runs) / len(runs)
    claim.check_within(f"{loss} best test acc", measured, claim.reported)


PARAM_MODELS = {
    "resnet18": ("resnet18", {}),
    "resnet18-dropout": ("resnet18", {"dropout": 0.5}),
    "resnet34": ("resnet34", {}),
    "resnet18-filtermul": ("resnet18", {"width": 2, "stem_channels": 64}),
}


@pytest.mark.parametrize("variant", PARAM_MODELS)
@pytest.mark.claim("000/params/{variant}")
def test_table5_parameter_count(claim, variant):
    """Table 5: the model's parameter count, in millions, as the table rounds it."""
    name, kwargs = PARAM_MODELS[variant]
    built = count_parameters(create_model(name, **kwargs))
    claim.note(f"built {name}({kwargs}): {built:,} parameters")
    claim.check_within("parameters (M)", built / 1e6, claim.reported)
