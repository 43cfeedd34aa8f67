#!/usr/bin/env python3
"""PyTorch eager latency of a torchvision classifier, one frame at a time.

Called by cpu_backend_bench so that OpenCV DNN and PyTorch are timed in the same run.
Prints one JSON object on stdout: {"model", "threads", "torch", "latencies_s": [...],
"process_cpu_s": [...]} (wall time and process CPU time, all threads, of each timed run).
"""
import argparse
import json
import time

import torch
import torchvision


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="torchvision builder, e.g. resnet18")
    parser.add_argument("--threads", type=int, required=True, help="torch.set_num_threads")
    parser.add_argument("--runs", type=int, default=35, help="timed runs")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs first")
    parser.add_argument("--size", type=int, default=224, help="input height and width, pixels")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, args.model)(weights=None).eval()
    x = torch.randn(1, 3, args.size, args.size)
    latencies, cpu = [], []
    with torch.inference_mode():
        for i in range(args.warmup + args.runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            model(x)
            elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
            if i >= args.warmup:
                latencies.append(elapsed)
                cpu.append(elapsed_cpu)
    print(json.dumps({"model": args.model, "threads": args.threads, "torch": torch.__version__,
                      "latencies_s": latencies, "process_cpu_s": cpu}))


if __name__ == "__main__":
    main()
