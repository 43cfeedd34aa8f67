#!/usr/bin/env python3
"""Drives the Hailo Dataflow Compiler's Python API (hailo_sdk_client) one stage at a time, for
`hdeploy compile --dfc-python PYTHON`. Each stage is its own process so that hdeploy can log,
time and stop it like the `hailo` CLI stages.

  version                      print the DFC version (hailo_sdk_client.__version__)
  parse    --onnx --net-name --hw-arch --har --start-node --end-node --input-shape 1,3,H,W
  optimize --har --calib --model-script --output-har
  compile  --har --hef

API as Hailo's Model Zoo and public build scripts use it: ClientRunner(hw_arch=...),
translate_onnx_model(onnx, net_name, start_node_names=, end_node_names=, net_input_shapes=),
save_har, ClientRunner(har=...), load_model_script(text), optimize(calib_ndarray),
compile() -> HEF bytes. Runs only where the DFC is installed (x86-64 Linux).
"""
import argparse
import os
import sys


def _client():
    try:
        import hailo_sdk_client  # noqa: PLC0415  (only where the DFC is installed)
    except ImportError as e:
        sys.exit(f"hdeploy_dfc: cannot import hailo_sdk_client ({e}): this Python has no "
                 "Hailo Dataflow Compiler; install its wheel into this venv")
    return hailo_sdk_client


def cmd_version(_args):
    client = _client()
    print(f"Hailo Dataflow Compiler v{client.__version__}")


def cmd_parse(args):
    runner = _client().ClientRunner(hw_arch=args.hw_arch)
    shape = [int(d) for d in args.input_shape.split(",")]
    runner.translate_onnx_model(args.onnx, args.net_name, start_node_names=[args.start_node],
                                end_node_names=[args.end_node],
                                net_input_shapes={args.start_node: shape})
    runner.save_har(args.har)
    print(f"parsed {args.onnx} -> {args.har}", flush=True)


def cmd_optimize(args):
    import numpy as np  # noqa: PLC0415  (the DFC venv has numpy)
    runner = _client().ClientRunner(har=args.har)
    with open(args.model_script, encoding="utf-8") as f:
        runner.load_model_script(f.read())
    calib = np.load(args.calib, mmap_mode="r")
    print(f"calibration set {args.calib}: shape {calib.shape} {calib.dtype}", flush=True)
    runner.optimize(np.asarray(calib, dtype=np.float32))
    runner.save_har(args.output_har)
    print(f"optimized -> {args.output_har}", flush=True)


def cmd_compile(args):
    runner = _client().ClientRunner(har=args.har)
    hef = runner.compile()
    os.makedirs(os.path.dirname(os.path.abspath(args.hef)), exist_ok=True)
    tmp = args.hef + ".tmp"
    with open(tmp, "wb") as f:
        f.write(hef)
    os.replace(tmp, args.hef)
    print(f"compiled -> {args.hef} ({len(hef)} bytes)", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="stage", required=True)
    sub.add_parser("version").set_defaults(func=cmd_version)
    p = sub.add_parser("parse")
    for name in ("--onnx", "--net-name", "--hw-arch", "--har", "--start-node", "--end-node",
                 "--input-shape"):
        p.add_argument(name, required=True)
    p.set_defaults(func=cmd_parse)
    p = sub.add_parser("optimize")
    for name in ("--har", "--calib", "--model-script", "--output-har"):
        p.add_argument(name, required=True)
    p.set_defaults(func=cmd_optimize)
    p = sub.add_parser("compile")
    for name in ("--har", "--hef"):
        p.add_argument(name, required=True)
    p.set_defaults(func=cmd_compile)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
