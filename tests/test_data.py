import pytest
import torch

from harness.train import augment as aug
from harness.train import data


@pytest.fixture(scope="module")
def cifar(data_root):
    return data.load_arrays("cifar10", data_root, download=False)


def test_cifar_splits_are_uint8_nchw(cifar):
    assert cifar["train"].images.shape == (50000, 3, 32, 32)
    assert cifar["test"].images.shape == (10000, 3, 32, 32)
    assert cifar["train"].images.dtype == torch.uint8 and cifar["train"].labels.dtype == torch.int64
    assert torch.bincount(cifar["train"].labels).tolist() == [5000] * 10


def test_cifar_matches_the_known_mean(cifar):
    mean = cifar["train"].images.float().mean(dim=(0, 2, 3)) / 255
    assert torch.allclose(mean, torch.tensor([0.4914, 0.4822, 0.4465]), atol=1e-3)


def test_mnist_loads(data_root):
    mnist = data.load_arrays("mnist", data_root, download=False)
    assert mnist["train"].images.shape == (60000, 1, 28, 28)
    assert len(mnist["test"]) == 10000


def test_balanced_subset_is_deterministic_and_balanced(cifar):
    a = data.balanced_subset(cifar["train"], 1000, 10)
    b = data.balanced_subset(cifar["train"], 1000, 10)
    assert torch.equal(a.labels, b.labels) and torch.equal(a.images, b.images)
    assert torch.bincount(a.labels).tolist() == [100] * 10


def test_pooled_split_is_ten_one_one(cifar):
    parts = data.pooled_split(cifar, (10, 1, 1))
    assert [len(parts[k]) for k in ("train", "val", "test")] == [50000, 5000, 5000]


def test_missing_dataset_error_says_where_and_what_to_do(tmp_path):
    with pytest.raises(data.DatasetMissingError) as err:
        data.load_arrays("cifar10", tmp_path, download=False)
    message = str(err.value)
    assert str(tmp_path) in message and "--data-root" in message and "REPRO_DATA" in message


def test_corrupt_dataset_file_is_a_clear_error(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in data.REQUIRED_FILES["cifar10"]:
        (tmp_path / name).write_bytes(b"not a pickle")
    with pytest.raises(data.DatasetMissingError, match=str(tmp_path)):
        data.load_arrays("cifar10", tmp_path, download=False)


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(ValueError, match="cifar10"):
        data.load_arrays("imagenet")


def batch(n=64):
    return data.synthetic_arrays()["train"].images[:n]


@pytest.mark.parametrize("op", ["crop", "flip", "cutout", "rrc", "rotate", "jitter"])
def test_augmentation_is_deterministic_per_seed(op):
    def apply(seed):
        g = torch.Generator().manual_seed(seed)
        x = batch()
        if op == "crop":
            return aug.random_crop(x, 4, generator=g)
        if op == "flip":
            return aug.random_flip(x, generator=g)
        xf = x.float() / 255
        return {"cutout": lambda: aug.cutout(xf, 16, generator=g),
                "rrc": lambda: aug.random_resized_crop(xf, generator=g),
                "rotate": lambda: aug.random_rotation(xf, 5.0, generator=g),
                "jitter": lambda: aug.color_jitter(xf, 0.2, 0.2, 0.2, generator=g)}[op]()

    first, again, other = apply(1), apply(1), apply(2)
    assert first.shape == batch().shape
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_crop_is_a_shifted_window_of_the_zero_padded_image():
    x = batch(8)
    out = aug.random_crop(x, 4, generator=torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    for i in range(len(x)):
        windows = [padded[i, :, dy:dy + 32, dx:dx + 32] for dy in range(9) for dx in range(9)]
        assert any(torch.equal(out[i], w) for w in windows)


def test_cutout_masks_at_most_one_square():
    x = torch.ones(32, 3, 32, 32)
    out = aug.cutout(x, 16, generator=torch.Generator().manual_seed(0))
    zeros = (out[:, 0] == 0).sum(dim=(1, 2))
    assert zeros.max() <= 256 and zeros.min() >= 64  # border holes are clipped, never below a quarter


def test_rotation_by_zero_is_the_identity_and_by_90_degrees_a_quarter_turn():
    x = batch(4).float() / 255
    assert torch.equal(aug.rotate(x, torch.zeros(4)), x)
    assert torch.equal(aug.rotate(x, torch.full((4,), 90.0)), torch.rot90(x, 1, dims=(2, 3)))


def test_small_rotations_move_only_pixels_near_the_border_to_zero_fill():
    x = torch.ones(16, 3, 32, 32)
    out = aug.random_rotation(x, 5.0, generator=torch.Generator().manual_seed(0))
    assert torch.all(out[:, :, 8:24, 8:24] == 1) and (out == 0).float().mean() < 0.05


def test_color_jitter_keeps_the_range_and_its_parts_match_their_definitions():
    x = batch(32).float() / 255
    out = aug.color_jitter(x, 0.2, 0.2, 0.2, generator=torch.Generator().manual_seed(0))
    assert out.min() >= 0 and out.max() <= 1 and not torch.equal(out, x)
    assert torch.equal(aug.color_jitter(x, 0.0, 0.0, 0.0, generator=torch.Generator().manual_seed(0)), x)
    gray = aug._blend(x, aug._grayscale(x), torch.zeros(32))  # saturation 0: every channel the luma
    assert torch.allclose(gray[:, 0], gray[:, 1]) and torch.allclose(gray[:, 1], gray[:, 2])
    ratio = (out.mean() / x.mean()).item()
    assert 0.8 < ratio < 1.2


def test_loader_batches_cover_the_split_once():
    split = data.synthetic_arrays()["test"]
    loader = data.BatchLoader(split, 128, mean=(0.5,) * 3, std=(0.25,) * 3, shuffle=True,
                              generator=torch.Generator().manual_seed(0))
    labels = torch.cat([y for _, y in loader])
    assert len(loader) == 8 and sorted(labels.tolist()) == sorted(split.labels.tolist())
    x, _ = next(iter(loader))
    assert x.dtype == torch.float32 and x.shape == (128, 3, 32, 32)


def test_unknown_augmentation_is_rejected():
    with pytest.raises(ValueError, match="known"):
        data.BatchLoader(data.synthetic_arrays()["test"], 8, mean=(0,) * 3, std=(1,) * 3, augment=("mixup",))


@pytest.mark.parametrize("name, shape", [("synthetic", (3, 32, 32)), ("synthetic_mnist", (1, 28, 28))])
def test_synthetic_sets_have_the_real_datasets_shapes(name, shape):
    splits = data.prepare(name, train_subset=100, test_subset=50)
    assert splits["train"].images.shape == (100, *shape) and splits["train"].images.dtype == torch.uint8
    assert len(splits["test"]) == 50 and data.CHANNELS[name] == shape[0]
