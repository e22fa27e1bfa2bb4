"""The PyTorch side of the benchmarks' line protocol (bench/kernels/torchServer.ts): after warm-up,
one JSON info line {core, threads, torch}; then each stdin line "N" runs N steps and prints a JSON
list of their times in ms; "quit" exits."""
import ctypes
import ctypes.util
import json
import sys
import time

import torch


def openblas_core():
    """The OpenBLAS kernel set that runs (OPENBLAS_CORETYPE or OpenBLAS's own detection)."""
    for name in ("libopenblas.so.0", "libopenblasp-r0.3.21.so", ctypes.util.find_library("openblas") or ""):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return "none (reference BLAS?)"


def serve_steps(step):
    print(json.dumps({"core": openblas_core(), "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "quit":
            break
        times = []
        for _ in range(int(cmd)):
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps(times), flush=True)
