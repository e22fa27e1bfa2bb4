#!/usr/bin/env bash
# Packed GPU probe, device side (the GPU machine has no node, no npm, no network): unpacks what
# bench/gpu/pack.sh put in .gpu/ to a temp folder, installs the Vulkan/EGL loaders, points Vulkan
# and EGL at the NVIDIA driver files and runs the bundled probe (bench/gpu/probe.ts), writing
# probe.json, probe.md and runProbe.log into ${OUT:-runs/gpu-probe}.
#
#   bash bench/gpu/runProbe.sh [--dry-run] [probe options: --quick, --provider webgpu|cpu|auto, --threads N, --sections …]
#
# The loader .debs go to / (dpkg -x, then ldconfig) only on a machine that is root, has the
# NVIDIA driver tree /usr/local/nvidia and was not given --dry-run; anywhere else (this dev
# machine) they are unpacked into the temp folder and found through LD_LIBRARY_PATH.
# Everything runs under `timeout` (TESSERA_PROBE_TIMEOUT, default 360 s) to end well inside the
# device's 10-minute command limit; the probe itself starts no section after 300 s.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
P=$ROOT/.gpu
DRY=0
ARGS=()
for a in "$@"; do
  if [ "$a" = --dry-run ]; then DRY=1; else ARGS+=("$a"); fi
done
OUTDIR=${OUT:-$ROOT/runs/gpu-probe}
mkdir -p "$OUTDIR"
LOG=$OUTDIR/runProbe.log
: >"$LOG"
exec > >(tee -a "$LOG") 2>&1

for f in node.xz ort.tar.xz app/probe.mjs; do
  [ -s "$P/$f" ] || { echo "runProbe: $P/$f is missing: run bash bench/gpu/pack.sh first (and carry .gpu)"; exit 1; }
done
W=$(mktemp -d /tmp/tessera-gpu-probe.XXXXXX)
cleanup() { rm -f "$P/app/node_modules"; rm -rf "$W"; }
trap cleanup EXIT

# xz may be missing from the device image; python3 (always there) reads xz too.
unxz_to_stdout() {
  if command -v xz >/dev/null && [ -z "${TESSERA_PROBE_PY_XZ:-}" ]; then xz -dc "$1"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}
unxz_to_stdout "$P/node.xz" >"$W/node" && chmod +x "$W/node" || { echo "runProbe: could not unpack node"; exit 1; }
mkdir -p "$W/node_modules" && unxz_to_stdout "$P/ort.tar.xz" | tar -C "$W/node_modules" -xf - || { echo "runProbe: could not unpack onnxruntime-node"; exit 1; }
# The bundle resolves onnxruntime-node from its own folder first, so the carried copy wins over
# a node_modules/ of the repo (present on the dev machine, absent on the device).
ln -sfn "$W/node_modules" "$P/app/node_modules"
echo "runProbe: $(date -u +%FT%TZ) $(uname -m), $(nproc) cores, uid $(id -u), node $("$W/node" --version), dry run: $DRY"

if [ $DRY = 0 ] && [ "$(id -u)" = 0 ] && [ -d /usr/local/nvidia ]; then
  for f in "$P"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
  echo "runProbe: loader packages unpacked into / (ldconfig done)"
else
  mkdir -p "$W/root"
  for f in "$P"/debs/*.deb; do dpkg -x "$f" "$W/root"; done
  export LD_LIBRARY_PATH=$W/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  echo "runProbe: loader packages unpacked into $W/root (LD_LIBRARY_PATH), not into /"
fi
ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
EGL=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f $ICD ] && export VK_DRIVER_FILES=$ICD
[ -f $EGL ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$EGL
echo "runProbe: VK_DRIVER_FILES=${VK_DRIVER_FILES:-(unset: no $ICD)} __EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-(unset)}"
echo "runProbe: libvulkan: $( (ldconfig -p 2>/dev/null | grep -m1 libvulkan.so.1) || ls "$W"/root/usr/lib/x86_64-linux-gnu/libvulkan.so.1 2>/dev/null || echo none)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

cd "$ROOT"
timeout --kill-after=10 "${TESSERA_PROBE_TIMEOUT:-360}" "$W/node" "$P/app/probe.mjs" --out "$OUTDIR" "${ARGS[@]}"
rc=$?
[ $rc = 124 ] && echo "runProbe: the probe hit its ${TESSERA_PROBE_TIMEOUT:-360} s timeout; probe.json holds the sections finished before it"
echo "runProbe: exit $rc"
exit $rc
