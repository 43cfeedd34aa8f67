"""Small ONNX models built by the tests (onnx.helper), for error paths."""
import numpy as np
import onnx
from onnx import TensorProto, helper


def small_model(path, input_shape, op="Relu", extra_nodes=(), output_shape=None):
    """input → Conv(3x3) → op → output (declared `output_shape`), saved with opset 13."""
    channels = input_shape[1] if len(input_shape) == 4 else 3
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, channels, 3, 3],
                           np.full(4 * channels * 9, 0.1, np.float32).tolist())
    nodes = [helper.make_node("Conv", ["input", "w"], ["c"], kernel_shape=[3, 3], name="conv0"),
             helper.make_node(op, ["c"], ["logits"], name="last0"), *extra_nodes]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, output_shape)], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path
