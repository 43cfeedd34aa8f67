#!/usr/bin/env python3
"""hdeploy's PyTorch -> ONNX exporter: run by `hdeploy export`, not by hand.

Usage: hdeploy_export.py --config CONFIG.json

The C++ side (cli/export_command.cpp) reads and validates the model spec (one TOML parser),
picks the interpreter, creates an empty output folder and writes CONFIG.json:

  {
    "config_version": 1,
    "hdeploy_version": "0.1.0",
    "output_dir": "/abs/DIR.tmp-XXXXXX",          # empty folder this script fills
    "model": {"name": "resnet18", "torchvision": "resnet18", "num_classes": 1000,
              "spec": "/abs/models/resnet18.toml",
              "labels": "torchvision:imagenet" | "/abs/path/labels.txt"},
    "input": {"height": 224, "width": 224},
    "preprocess": {"resize_mode": "shorter_side" | "exact" | "none",
                   "resize": 256, "resize_height": 0, "resize_width": 0,
                   "crop_height": 224, "crop_width": 224,
                   "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
    "weights": {"kind": "none" | "path" | "pretrained", "path": "/abs/w.pth" | null},
    "opset": 13,
    "seed": 0,
    "python": "/usr/bin/python3"                   # as hdeploy chose it, for the record
  }

It writes into output_dir: model.onnx, labels.txt, reference/image.png,
reference/input.npy (float32 1x3xHxW), reference/output.npy (float32 1xK) and export.json
(sorted keys, SHA-256 of every other file). Progress goes to stderr as
"hdeploy_export: <what>"; a failure ends with one line "hdeploy_export: error: <message>"
and exit status 1. Nothing goes to stdout. Works with torch 1.13 / torchvision 0.14 (Debian 12)
and torch 2.x / torchvision >= 0.15.
"""
import argparse
import hashlib
import inspect
import json
import os
import sys
import traceback

PREFIX = "hdeploy_export"
CONFIG_VERSION = 1
MAX_IR_VERSION = 9  # what the Hailo Dataflow Compiler parses
# The newest ai.onnx opset each IR version can carry (onnx/helper.py VERSION_TABLE).
MAX_OPSET_FOR_IR = {7: 12, 8: 17, 9: 19, 10: 21}
# Below this the reference logits are (nearly) constant and parity checks pass trivially.
MIN_LOGITS_STD = 1e-3
REFERENCE_IMAGE_SIZE = (320, 240)  # width, height: deliberately not square


class ExportError(Exception):
    """An error for the user: one line that says what is wrong and what to do."""


def progress(message):
    print(f"{PREFIX}: {message}", file=sys.stderr, flush=True)


def one_line(text):
    return " ".join(str(text).split())


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Model


def torchvision_builder(torchvision, name):
    models = torchvision.models
    builder = getattr(models, name, None)
    if builder is None or not callable(builder) or name.startswith("_"):
        raise ExportError(f"torchvision {torchvision.__version__} has no model builder "
                          f"'torchvision.models.{name}'; check 'model.torchvision' in the spec")
    return builder


def weights_enum(torchvision, builder_name):
    """The builder's weights enum (e.g. ResNet18_Weights), or None if it has none."""
    models = torchvision.models
    getter = getattr(models, "get_model_weights", None)  # torchvision >= 0.14
    if getter is not None:
        try:
            return getter(builder_name)
        except Exception:  # noqa: BLE001 - a builder without registered weights
            return None
    # torchvision 0.13: the enum is named in the builder's signature annotation.
    builder = getattr(models, builder_name)
    annotation = inspect.signature(builder).parameters.get("weights")
    text = str(annotation.annotation) if annotation is not None else ""
    for attr in dir(models):
        if attr.endswith("_Weights") and attr in text:
            return getattr(models, attr)
    return None


def build_model(torch, torchvision, cfg):
    name = cfg["model"]["torchvision"]
    num_classes = cfg["model"]["num_classes"]
    builder = torchvision_builder(torchvision, name)
    weights = cfg["weights"]
    if weights["kind"] != "pretrained":
        try:
            return builder(weights=None, num_classes=num_classes)
        except TypeError as e:
            raise ExportError(f"torchvision.models.{name}(weights=None, num_classes={num_classes}) "
                              f"failed: {e}") from None

    enum = weights_enum(torchvision, name)
    if enum is None:
        raise ExportError(f"torchvision has no pretrained weights for '{name}'; pass --weights "
                          f"PATH or --weights none")
    default = enum.DEFAULT
    categories = default.meta.get("categories") or []
    if categories and len(categories) != num_classes:
        raise ExportError(f"pretrained weights {default} have {len(categories)} classes but the "
                          f"spec says model.num_classes = {num_classes}; use --weights PATH with "
                          f"your own fine-tuned weights")
    progress(f"loading pretrained weights {default} ({default.url})")
    try:
        return builder(weights=default)
    except Exception as e:  # noqa: BLE001 - URLError, HTTPError, socket errors, hash mismatch...
        raise ExportError(f"cannot download pretrained weights for {name} (no network?): "
                          f"{type(e).__name__}: {one_line(e)}; download {default.url} elsewhere "
                          f"and pass --weights PATH") from None


def load_weights_file(torch, model, path):
    if not os.path.isfile(path):
        raise ExportError(f"{path}: no such weights file")
    kwargs = {"map_location": "cpu"}
    if "weights_only" in inspect.signature(torch.load).parameters:
        kwargs["weights_only"] = True  # tensors and plain containers only: no pickled code
    try:
        obj = torch.load(path, **kwargs)
    except Exception as e:  # noqa: BLE001 - corrupt file, not a torch file, pickled objects
        raise ExportError(f"{path}: cannot load as a PyTorch state_dict: {type(e).__name__}: "
                          f"{one_line(e)[:300]}; save it with "
                          f"torch.save(model.state_dict(), path)") from None
    state = obj
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if isinstance(obj.get(key), dict):
                state = obj[key]
                break
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ExportError(f"{path}: not a state_dict (a dict of tensors, or a checkpoint dict "
                          f"with a 'state_dict' or 'model' entry); save it with "
                          f"torch.save(model.state_dict(), path)")
    expected = model.state_dict().keys()
    if state and all(k.startswith("module.") for k in state) and \
            not any(k.startswith("module.") for k in expected):
        state = {k[len("module."):]: v for k, v in state.items()}  # saved from DataParallel
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        def listing(keys):
            shown = ", ".join(keys[:5])
            return shown + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        parts = []
        if missing:
            parts.append(f"missing keys ({len(missing)}): {listing(missing)}")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {listing(unexpected)}")
        raise ExportError(f"{path}: weights do not match the model: {'; '.join(parts)}; check "
                          f"'model.torchvision' and 'model.num_classes' in the spec")
    target = model.state_dict()
    mismatched = [f"{k} {tuple(v.shape)} vs model {tuple(target[k].shape)}"
                  for k, v in state.items() if tuple(v.shape) != tuple(target[k].shape)]
    if mismatched:
        raise ExportError(f"{path}: weights do not match the model: shape mismatch in "
                          f"{len(mismatched)} tensors: {'; '.join(mismatched[:3])}; check "
                          f"'model.num_classes' in the spec")
    model.load_state_dict(state, strict=True)


def normalisation(torch, cfg):
    mean = torch.tensor(cfg["preprocess"]["mean"], dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(cfg["preprocess"]["std"], dtype=torch.float32).view(1, 3, 1, 1)
    return mean, std


def set_batchnorm_statistics(torch, model, cfg, batches=4, batch_size=8):
    """Gives a randomly initialised model realistic BatchNorm running statistics.

    With torchvision's init and the default statistics (mean 0, var 1) activations vanish or
    explode (an untrained MobileNetV2 outputs logits of ~1e-9), which would make parity checks
    pass trivially. A few seeded forward passes in training mode over smooth random images,
    normalised like real inputs, with momentum=None (a cumulative average) fix that.
    """
    import torch.nn.functional as F

    bn_layers = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bn_layers:
        return 0, 1.0
    height, width = cfg["input"]["height"], cfg["input"]["width"]
    mean, std = normalisation(torch, cfg)
    generator = torch.Generator().manual_seed(cfg["seed"] + 1)
    saved_momentum = [m.momentum for m in bn_layers]
    for m in bn_layers:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    try:
        with torch.no_grad():
            for batch in range(batches):
                images = []
                for i in range(batch_size):
                    cells = (2, 4, 8, 16, 32, 64)[(batch * batch_size + i) % 6]
                    noise = torch.rand(1, 3, cells, cells, generator=generator)
                    image = F.interpolate(noise, size=(height, width), mode="bilinear",
                                          align_corners=False)
                    image = image + 0.05 * torch.randn(1, 3, height, width, generator=generator)
                    images.append(image.clamp(0.0, 1.0))
                last_batch = (torch.cat(images) - mean) / std
                model(last_batch)
    finally:
        for m, momentum in zip(bn_layers, saved_momentum):
            m.momentum = momentum
        model.eval()
    return len(bn_layers), scale_classifier(torch, model, last_batch)


def scale_classifier(torch, model, images, low=0.3, high=1.0, target=0.5):
    """Scales the last Linear layer so random-init logits spread like a real model's.

    torchvision initialises MobileNetV2's classifier with std 0.01, which leaves logits with a
    std of ~0.14 even with sensible BatchNorm statistics. Returns the factor applied (1.0 when
    the spread is already within [low, high]).
    """
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        return 1.0
    with torch.no_grad():
        spread = float(model(images).std())
        if not spread > 0.0 or low <= spread <= high:
            return 1.0
        factor = target / spread
        linears[-1].weight.mul_(factor)
        if linears[-1].bias is not None:
            linears[-1].bias.mul_(factor)
    return factor


# --------------------------------------------------------------------------------------------
# ONNX


def export_onnx(torch, model, cfg, path):
    height, width = cfg["input"]["height"], cfg["input"]["width"]
    dummy = torch.zeros(1, 3, height, width, dtype=torch.float32)
    kwargs = dict(export_params=True, opset_version=cfg["opset"], do_constant_folding=True,
                  input_names=["input"], output_names=["logits"])
    # torch >= 2.5 has a dynamo exporter (the default from 2.9) that drops Conv kernel_shape
    # on MobileNetV2 and breaks the Hailo parser: always the TorchScript exporter.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    with torch.no_grad():
        torch.onnx.export(model, (dummy,), path, **kwargs)


def finish_onnx(onnx, cfg, path):
    """Caps ir_version for the Hailo parser, checks the graph, returns facts for export.json."""
    model = onnx.load(path)
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if opset != cfg["opset"]:
        raise ExportError(f"torch exported opset {opset}, not the requested {cfg['opset']}")
    if model.ir_version > MAX_IR_VERSION:
        if opset > MAX_OPSET_FOR_IR[MAX_IR_VERSION]:
            raise ExportError(f"ONNX ir_version {model.ir_version} > {MAX_IR_VERSION} and opset "
                              f"{opset} needs it; use --opset 13")
        progress(f"lowering ONNX ir_version {model.ir_version} -> {MAX_IR_VERSION}")
        model.ir_version = MAX_IR_VERSION
        onnx.save(model, path)
    check_kwargs = {}
    if "full_check" in inspect.signature(onnx.checker.check_model).parameters:
        check_kwargs["full_check"] = True  # also runs strict shape inference
    try:
        onnx.checker.check_model(model, **check_kwargs)
    except Exception as e:  # noqa: BLE001 - onnx.checker.ValidationError and friends
        raise ExportError(f"exported ONNX fails onnx.checker: {one_line(e)[:400]}") from None

    def dims(value_info):
        return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                for d in value_info.type.tensor_type.shape.dim]

    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    outputs = list(model.graph.output)
    if [i.name for i in inputs] != ["input"] or [o.name for o in outputs] != ["logits"]:
        raise ExportError(f"unexpected graph inputs {[i.name for i in inputs]} / outputs "
                          f"{[o.name for o in outputs]}")
    in_shape, out_shape = dims(inputs[0]), dims(outputs[0])
    want_in = [1, 3, cfg["input"]["height"], cfg["input"]["width"]]
    want_out = [1, cfg["model"]["num_classes"]]
    if in_shape != want_in or out_shape != want_out:
        raise ExportError(f"exported shapes {in_shape} -> {out_shape}, expected static "
                          f"{want_in} -> {want_out}")
    no_kernel = [n.name or f"#{i}" for i, n in enumerate(model.graph.node)
                 if n.op_type == "Conv" and not any(a.name == "kernel_shape" for a in n.attribute)]
    if no_kernel:
        raise ExportError(f"Conv nodes without kernel_shape ({', '.join(no_kernel[:3])}): the "
                          f"Hailo parser needs it")
    op_types = sorted({n.op_type for n in model.graph.node})
    return {"opset": opset, "ir_version": model.ir_version, "input_shape": in_shape,
            "output_shape": out_shape, "nodes": len(model.graph.node), "op_types": op_types}


# --------------------------------------------------------------------------------------------
# Reference


def reference_image(np, seed):
    """A deterministic, natural-ish RGB test image (gradients, shapes, texture), 320x240."""
    width, height = REFERENCE_IMAGE_SIZE
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    corners = rng.uniform(0, 255, size=(3, 3))
    img = (corners[0] + np.multiply.outer(xx / width, corners[1] - corners[0])
           + np.multiply.outer(yy / height, corners[2] - corners[0]) * 0.5)
    for _ in range(6):  # soft-edged discs
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(15, 70)
        colour = rng.uniform(0, 255, size=3)
        d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        alpha = np.clip(r - d, 0.0, 1.5)[..., None] / 1.5
        img = img * (1 - alpha) + colour * alpha
    for _ in range(4):  # rectangles
        x0, y0 = rng.integers(0, width - 20), rng.integers(0, height - 20)
        x1, y1 = x0 + rng.integers(10, 120), y0 + rng.integers(10, 90)
        img[y0:y1, x0:x1] = 0.35 * img[y0:y1, x0:x1] + 0.65 * rng.uniform(0, 255, size=3)
    fx, fy = rng.uniform(0.02, 0.15, size=2)
    img += 18 * np.sin(xx * fx + yy * fy)[..., None]  # texture
    img += rng.normal(0, 4, size=img.shape)  # sensor noise
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def preprocess_transform(torchvision, cfg):
    """torchvision's own transforms, built from the spec: what the model expects."""
    from torchvision import transforms as T

    p = cfg["preprocess"]
    resize_kwargs = {"interpolation": T.InterpolationMode.BILINEAR}
    if "antialias" in inspect.signature(T.Resize).parameters:
        resize_kwargs["antialias"] = True  # PIL images are always antialiased; silences warnings
    steps = []
    if p["resize_mode"] == "shorter_side":
        steps.append(T.Resize(p["resize"], **resize_kwargs))
    elif p["resize_mode"] == "exact":
        steps.append(T.Resize((p["resize_height"], p["resize_width"]), **resize_kwargs))
    elif p["resize_mode"] != "none":
        raise ExportError(f"unknown resize_mode '{p['resize_mode']}'")
    steps += [T.CenterCrop((p["crop_height"], p["crop_width"])), T.ToTensor(),
              T.Normalize(mean=p["mean"], std=p["std"])]
    return T.Compose(steps)


# --------------------------------------------------------------------------------------------
# Labels


def imagenet_categories(torchvision, builder_name):
    """ImageNet-1k class names from torchvision's weights metadata (offline)."""
    candidates = []
    enum = weights_enum(torchvision, builder_name)
    if enum is not None:
        candidates += list(enum)
    resnet18 = getattr(torchvision.models, "ResNet18_Weights", None)
    if resnet18 is not None:
        candidates.append(resnet18.IMAGENET1K_V1)
    for weights in candidates:
        categories = weights.meta.get("categories") or []
        if len(categories) == 1000:
            return list(categories)
    raise ExportError(f"torchvision {torchvision.__version__} does not ship ImageNet category "
                      f"names; set 'model.labels' to a file with one name per line")


def write_labels(torchvision, cfg, path):
    labels = cfg["model"]["labels"]
    num_classes = cfg["model"]["num_classes"]
    if labels == "torchvision:imagenet":
        names = imagenet_categories(torchvision, cfg["model"]["torchvision"])
        source = labels
    else:
        try:
            with open(labels, encoding="utf-8") as f:
                names = [line.strip() for line in f.read().splitlines()]
        except (OSError, UnicodeDecodeError) as e:
            raise ExportError(f"{labels}: cannot read labels: {one_line(e)}") from None
        while names and not names[-1]:
            names.pop()
        source = labels
    if len(names) != num_classes:
        raise ExportError(f"{labels}: has {len(names)} labels but model.num_classes = "
                          f"{num_classes}; give one class name per line")
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(name + "\n" for name in names))
    return source


# --------------------------------------------------------------------------------------------


def export(cfg):
    out = cfg["output_dir"]
    if not os.path.isdir(out):
        raise ExportError(f"{out}: output folder does not exist")
    try:
        import numpy as np
        import onnx
        import torch
        import torchvision
        from PIL import Image
    except ImportError as e:
        raise ExportError(f"{sys.executable}: {one_line(e)}; install python3-torch "
                          f"python3-torchvision python3-onnx") from None

    name = cfg["model"]["name"]
    builder_name = cfg["model"]["torchvision"]
    weights = cfg["weights"]
    seed = int(cfg["seed"])
    files = {}

    torch.manual_seed(seed)
    progress(f"building {name} (torchvision.models.{builder_name}, "
             f"{cfg['model']['num_classes']} classes, torch {torch.__version__}, "
             f"torchvision {torchvision.__version__})")
    model = build_model(torch, torchvision, cfg)
    weights_record = {"kind": weights["kind"]}
    if weights["kind"] == "none":
        progress(f"setting BatchNorm statistics (seed {seed})")
        bn_layers, factor = set_batchnorm_statistics(torch, model, cfg)
        weights_record["batchnorm_layers"] = bn_layers
        weights_record["classifier_scale"] = factor
        weights_record["init"] = (f"torch.manual_seed({seed}); BatchNorm statistics from seeded "
                                  f"smooth random images; last Linear scaled by classifier_scale")
        if factor != 1.0:
            progress(f"scaled the classifier by {factor:.3g} for a logits spread of ~0.5")
    elif weights["kind"] == "path":
        path = weights["path"]
        progress(f"loading weights {path}")
        load_weights_file(torch, model, path)
        weights_record["path"] = path
        weights_record["sha256"] = sha256_file(path)
    elif weights["kind"] == "pretrained":
        enum = weights_enum(torchvision, builder_name)
        weights_record["name"] = str(enum.DEFAULT)
        weights_record["url"] = enum.DEFAULT.url
    else:
        raise ExportError(f"unknown weights kind '{weights['kind']}'")
    model.eval()

    onnx_path = os.path.join(out, "model.onnx")
    progress(f"exporting ONNX (opset {cfg['opset']})")
    try:
        export_onnx(torch, model, cfg, onnx_path)
    except ExportError:
        raise
    except Exception as e:  # noqa: BLE001 - torch.onnx errors are long; keep the gist
        raise ExportError(f"torch.onnx.export failed for {name} at opset {cfg['opset']}: "
                          f"{type(e).__name__}: {one_line(e)[:400]}") from None
    facts = finish_onnx(onnx, cfg, onnx_path)

    progress("computing reference")
    ref_dir = os.path.join(out, "reference")
    os.makedirs(ref_dir, exist_ok=True)
    image_path = os.path.join(ref_dir, "image.png")
    Image.fromarray(reference_image(np, seed), mode="RGB").save(image_path)
    with Image.open(image_path) as im:
        image = im.convert("RGB")
    x = preprocess_transform(torchvision, cfg)(image).unsqueeze(0).contiguous()
    with torch.no_grad():
        logits = model(x)
    input_np = x.numpy().astype(np.float32)
    output_np = logits.numpy().astype(np.float32)
    np.save(os.path.join(ref_dir, "input.npy"), input_np)
    np.save(os.path.join(ref_dir, "output.npy"), output_np)
    logits_std = float(output_np.std())
    top5 = [int(i) for i in np.argsort(-output_np[0])[:5]]
    progress(f"reference logits std {logits_std:.4g}, top-5 classes {top5}")
    if not logits_std >= MIN_LOGITS_STD:
        raise ExportError(f"model outputs have no spread (logits std {logits_std:.3g} < "
                          f"{MIN_LOGITS_STD}); parity checks would pass trivially")

    labels_source = write_labels(torchvision, cfg, os.path.join(out, "labels.txt"))

    for rel in ("model.onnx", "labels.txt", "reference/image.png", "reference/input.npy",
                "reference/output.npy"):
        files[rel] = sha256_file(os.path.join(out, rel))

    record = {
        "hdeploy_version": cfg.get("hdeploy_version", ""),
        "model": name,
        "spec_path": cfg["model"].get("spec", ""),
        "builder": f"torchvision.models.{builder_name}",
        "num_classes": cfg["model"]["num_classes"],
        "labels": labels_source,
        "weights": weights_record,
        "python": {"executable": cfg.get("python") or sys.executable,
                   "version": ".".join(map(str, sys.version_info[:3]))},
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                     "onnx": onnx.__version__, "numpy": np.__version__},
        "opset": facts["opset"],
        "ir_version": facts["ir_version"],
        "seed": seed,
        "input": {"name": "input", "shape": facts["input_shape"], "dtype": "float32",
                  "layout": "NCHW"},
        "output": {"name": "logits", "shape": facts["output_shape"], "dtype": "float32",
                   "layout": "NC"},
        "onnx": {"nodes": facts["nodes"], "op_types": facts["op_types"],
                 "exporter": "torch.onnx.export (TorchScript), do_constant_folding=True"},
        "preprocess": cfg["preprocess"],
        "reference": {"image": "reference/image.png", "image_size": list(REFERENCE_IMAGE_SIZE),
                      "logits_std": logits_std, "top5": top5},
        "files": files,
    }
    with open(os.path.join(out, "export.json"), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2, sort_keys=True)
        f.write("\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="JSON config written by hdeploy export")
    parser.add_argument("--traceback", action="store_true",
                        help="print Python tracebacks of unexpected errors (debugging)")
    args = parser.parse_args(argv)
    try:
        try:
            with open(args.config, encoding="utf-8") as f:
                cfg = json.load(f)
        except (OSError, ValueError) as e:
            raise ExportError(f"{args.config}: cannot read config: {one_line(e)}") from None
        if cfg.get("config_version") != CONFIG_VERSION:
            raise ExportError(f"{args.config}: config_version {cfg.get('config_version')} is "
                              f"not {CONFIG_VERSION}: hdeploy and its exporter script differ")
        export(cfg)
    except ExportError as e:
        print(f"{PREFIX}: error: {one_line(e)}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print(f"{PREFIX}: error: interrupted", file=sys.stderr, flush=True)
        return 130
    except Exception as e:  # noqa: BLE001 - the last line must still be one clear error
        if args.traceback or os.environ.get("HDEPLOY_EXPORT_TRACEBACK"):
            traceback.print_exc()
        print(f"{PREFIX}: error: unexpected {type(e).__name__}: {one_line(e)[:400]} "
              f"(set HDEPLOY_EXPORT_TRACEBACK=1 for the traceback)", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
