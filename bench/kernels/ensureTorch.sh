#!/usr/bin/env bash
# Installs Debian's python3-torch plus OpenBLAS (OpenMP build) when missing. Without OpenBLAS,
# torch resolves libblas.so.3 to the reference BLAS (~20× slower), an unfair comparison.
set -euo pipefail
need=()
/usr/bin/python3 -c 'import torch' 2>/dev/null || need+=(python3-torch)
ldconfig -p | grep -q 'libopenblas.*openmp\|openblas-openmp' || dpkg -s libopenblas0-openmp >/dev/null 2>&1 || need+=(libopenblas0-openmp)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
