#!/usr/bin/env bash
# Transformer-block training-step benchmark: tessera (one ONNX graph per step in onnxruntime-node)
# vs an ORT MatMul 1024³ ceiling and vs PyTorch eager with OpenBLAS, in the same run.
# Usage: bash bench/kernels/run.sh [--steps N] [--per K] [--threads T] [--no-torch] [--no-spin]
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ " $* " != *" --no-torch "* ]]; then bash bench/kernels/ensureTorch.sh; fi
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
exec node --import tsx bench/kernels/transformerStep.ts "$@"
