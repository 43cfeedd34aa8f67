"""Stand-in for the Hailo Dataflow Compiler's Python package, for hdeploy's tests ONLY (never
installed): ClientRunner records each call, keeps its state in the HAR file it saves, checks
what it is given, and returns a real HEF's bytes from compile(). Environment variables as the
stand-in `hailo` CLI: HAILO_STANDIN_RECORD, HAILO_STANDIN_FAIL (parse|optimize|compile),
HAILO_STANDIN_HEF (required), HAILO_STANDIN_VERSION."""
import json
import os
import pathlib

__version__ = os.environ.get("HAILO_STANDIN_VERSION", "3.33.0")



def _record(call, **kwargs):
    path = os.environ.get("HAILO_STANDIN_RECORD")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"call": call, **kwargs}) + "\n")


def _maybe_fail(stage):
    if os.environ.get("HAILO_STANDIN_FAIL") == stage:
        raise RuntimeError(f"stand-in {stage} failure requested")


class ClientRunner:
    def __init__(self, hw_arch=None, har=None):
        self.state = {"hw_arch": hw_arch}
        if har is not None:
            self.state = json.loads(pathlib.Path(har).read_text())
        _record("ClientRunner", hw_arch=hw_arch, har=har)

    def translate_onnx_model(self, model, net_name, start_node_names=None, end_node_names=None,
                             net_input_shapes=None):
        _record("translate_onnx_model", model=model, net_name=net_name,
                start_node_names=start_node_names, end_node_names=end_node_names,
                net_input_shapes=net_input_shapes)
        _maybe_fail("parse")
        if not os.path.isfile(model):
            raise FileNotFoundError(model)
        self.state.update(net_name=net_name, end_node_names=end_node_names)
        return {}, {}

    def load_model_script(self, text):
        _record("load_model_script", text=text)
        self.state["model_script"] = text

    def optimize(self, calib):
        _record("optimize", shape=list(calib.shape), dtype=str(calib.dtype))
        _maybe_fail("optimize")
        if calib.ndim != 4 or calib.shape[3] != 3:
            raise ValueError(f"calibration set shape {calib.shape} is not (N, H, W, 3)")
        self.state["optimized"] = True

    def save_har(self, path):
        _record("save_har", path=path)
        pathlib.Path(path).write_text(json.dumps(self.state))

    def compile(self):
        _record("compile", state=self.state)
        _maybe_fail("compile")
        if not self.state.get("optimized"):
            raise RuntimeError("compile() before optimize()")
        return pathlib.Path(os.environ["HAILO_STANDIN_HEF"]).read_bytes()
