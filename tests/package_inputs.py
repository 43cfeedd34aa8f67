"""Inputs for trying an installed hdeploy (scripts/check-package, tests/test_package.py): a tiny
ONNX colour classifier, an image of each of its colours and its labels.

The model takes 1x3x224x224 float32 (what the resnet18 spec prepares), averages each channel
(GlobalAveragePool), and scores red, green, blue and gray with a Gemm, so a red image's top-1
is "red" whatever the resize and crop did.

    /usr/bin/python3 tests/package_inputs.py DIR   # writes DIR/colours.onnx, DIR/red.png, ...
"""
import pathlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper
from PIL import Image

LABELS = ["red", "green", "blue", "gray"]
COLOURS = {"red": (230, 20, 30), "green": (25, 220, 40), "blue": (20, 30, 235)}


def colour_classifier(path):
    """Writes the classifier (opset 13, ir_version 8: what OpenCV 4.6 imports) to `path`."""
    weights = np.array([[1.0, -0.5, -0.5], [-0.5, 1.0, -0.5], [-0.5, -0.5, 1.0], [0.0, 0.0, 0.0]],
                       np.float32)
    nodes = [
        helper.make_node("GlobalAveragePool", ["input"], ["pooled"], name="pool0"),
        helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten0"),
        helper.make_node("Gemm", ["flat", "w", "b"], ["logits"], transB=1, name="gemm0"),
    ]
    graph = helper.make_graph(
        nodes, "colours",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, len(LABELS)])],
        [helper.make_tensor("w", TensorProto.FLOAT, list(weights.shape), weights.flatten()),
         helper.make_tensor("b", TensorProto.FLOAT, [len(LABELS)], [0.0] * len(LABELS))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return pathlib.Path(path)


def write_inputs(directory):
    """Writes colours.onnx, labels.txt and <colour>.png (320x240) into `directory`; returns
    {"model": path, "labels": path, "images": {colour: path}}."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = colour_classifier(directory / "colours.onnx")
    labels = directory / "labels.txt"
    labels.write_text("".join(f"{label}\n" for label in LABELS))
    images = {}
    for name, rgb in COLOURS.items():
        images[name] = directory / f"{name}.png"
        Image.new("RGB", (320, 240), rgb).save(images[name])
    return {"model": model, "labels": labels, "images": images}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: package_inputs.py DIR")
    written = write_inputs(sys.argv[1])
    print(written["model"], written["labels"], *written["images"].values())
