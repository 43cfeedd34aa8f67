"""Seeded torchvision models with meaningful outputs, built by the tests themselves.

Untrained torchvision models output near-constant logits (MobileNetV2: ~1e-9), so the tests set
BatchNorm running statistics from generated images first; then logits spread (std ~0.3-1) and
top-k comparisons mean something.
"""
import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def eval_transform():
    """torchvision's evaluation transforms, as models/*.toml describe them."""
    return transforms.Compose([
        transforms.Resize(256),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize(MEAN, STD),
    ])


def synthetic_image(seed: int, width: int, height: int) -> Image.Image:
    """A smooth, non-trivial RGB image: low-resolution noise upsampled plus gradients."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(max(2, height // 16), max(2, width // 16), 3), dtype=np.uint8)
    img = Image.fromarray(small, "RGB").resize((width, height), Image.BICUBIC)
    arr = np.asarray(img).astype(np.int32)
    yy, xx = np.mgrid[0:height, 0:width]
    arr[..., 0] += (xx * 64 // max(1, width)).astype(np.int32)
    arr[..., 2] += (yy * 64 // max(1, height)).astype(np.int32)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def seeded_model(builder: str, seed: int, num_classes: int = 1000) -> torch.nn.Module:
    """torchvision `builder` with seeded weights and BatchNorm statistics from generated images."""
    torch.manual_seed(seed)
    model = getattr(torchvision.models, builder)(weights=None, num_classes=num_classes)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the passes below
    model.train()
    tf = eval_transform()
    with torch.no_grad():
        for i in range(4):
            batch = torch.stack([tf(synthetic_image(1000 * seed + 8 * i + j, 320, 256))
                                 for j in range(8)])
            model(batch)
    return model.eval()


def logits(model: torch.nn.Module, image: Image.Image) -> np.ndarray:
    with torch.no_grad():
        return model(eval_transform()(image).unsqueeze(0))[0].numpy()


def assert_same_topk(expected_logits: np.ndarray, got_indices, k: int = 5, tie: float = 1e-4):
    """Top-k indices equal, allowing swaps only between classes whose logits are within `tie`."""
    order = np.argsort(-expected_logits, kind="stable")[:k]
    got = list(got_indices)[:k]
    assert len(got) == k
    for rank, (e, g) in enumerate(zip(order, got)):
        if e != g:
            assert abs(expected_logits[e] - expected_logits[g]) < tie, (
                f"rank {rank + 1}: expected class {e} ({expected_logits[e]:.6f}), got {g} "
                f"({expected_logits[g]:.6f}); expected top-{k} {list(order)}, got {got}")
