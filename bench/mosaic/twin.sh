#!/usr/bin/env bash
# MOSAIC `small` training step: tessera vs its PyTorch twin (bench/mosaic/twin_step.py).
#   bash bench/mosaic/twin.sh [twinBench options]       check the twin is the same computation (K = 3,
#                                                       ~30 s), then time both at K = 2, 4, 6 (~2-3 min quiet)
#   bash bench/mosaic/twin.sh --no-check [options]      timing only (options: bench/mosaic/twinBench.ts)
#   bash bench/mosaic/twin.sh --check-only [options]    the check only (options: bench/mosaic/twinCheck.ts,
#                                                       e.g. --k 6 --batch 4, --write-reference PATH)
# Time it only on a quiet machine: PyTorch's OpenMP pool collapses under load.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash bench/kernels/ensureTorch.sh
node_ts=(nice -n "${TWIN_NICE:-0}" node --import ./core/loader/register.mjs)
case "${1:-}" in
  --check-only) shift; exec "${node_ts[@]}" bench/mosaic/twinCheck.ts "$@" ;;
  --no-check) shift ;;
  *) "${node_ts[@]}" bench/mosaic/twinCheck.ts ;;
esac
echo
exec "${node_ts[@]}" bench/mosaic/twinBench.ts "$@"
