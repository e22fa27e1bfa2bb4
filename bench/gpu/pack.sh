#!/usr/bin/env bash
# Packed GPU probe, dev-machine side: builds .gpu/ (git-ignored; a clean clone never needs it)
# with everything bench/gpu/runProbe.sh needs on a GPU machine that has no node and no network:
#
#   .gpu/node.xz         this machine's node binary, stripped, xz
#   .gpu/ort.tar.xz      node_modules/{onnxruntime-node (linux-x64 binaries, dist, package.json), onnxruntime-common}
#   .gpu/debs/*.deb      Debian amd64 Vulkan/EGL loader packages (apt-get download)
#   .gpu/app/probe.mjs   bench/gpu/probe.ts bundled by esbuild (onnxruntime-node external)
#   .gpu/MANIFEST.txt    versions and sizes
#
# The device copy of the repo gets .gpu through the run tool's `carry: [".gpu"]`. What travels
# (tracked + untracked-not-ignored files + .gpu) must stay under 64 MiB; this script prints each
# part and fails when the total is over.
#
#   bash bench/gpu/pack.sh [--force]     (--force: rebuild node.xz, ort.tar.xz and the debs too)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
P=$ROOT/.gpu
LIMIT=$((64 * 1024 * 1024))
FORCE=0
for a in "$@"; do
  case $a in
    --force) FORCE=1 ;;
    *) echo "pack: unknown argument '$a' (usage: bash bench/gpu/pack.sh [--force])" >&2; exit 2 ;;
  esac
done
git check-ignore -q .gpu/ || { echo "pack: .gpu/ is not git-ignored; add it to .gitignore first" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "pack: the device is x86-64; node and onnxruntime from $(uname -m) would not run there" >&2; exit 1; }
mkdir -p "$P/debs" "$P/app"
# A link left by an interrupted dry run would travel as a dangling link.
rm -f "$P/app/node_modules"

# 1. node: stripped (its debug info is ~12 MiB), xz -9.
NODE_BIN=$(readlink -f "$(command -v node)")
NODE_VERSION=$("$NODE_BIN" --version)
if [ $FORCE = 1 ] || [ ! -s "$P/node.xz" ] || ! grep -qx "node $NODE_VERSION" "$P/MANIFEST.txt" 2>/dev/null; then
  tmp=$(mktemp -d)
  strip -o "$tmp/node" "$NODE_BIN" 2>/dev/null || cp "$NODE_BIN" "$tmp/node"
  "$tmp/node" --version >/dev/null
  nice -n 19 xz -T1 -9 -c "$tmp/node" >"$P/node.xz.tmp" && mv "$P/node.xz.tmp" "$P/node.xz"
  rm -rf "$tmp"
fi

# 2. onnxruntime-node (linux-x64 only: the arm64 and other platforms' binaries stay out) + onnxruntime-common.
ORT_VERSION=$(node -p "require('./node_modules/onnxruntime-node/package.json').version")
if [ $FORCE = 1 ] || [ ! -s "$P/ort.tar.xz" ] || ! grep -qx "onnxruntime-node $ORT_VERSION" "$P/MANIFEST.txt" 2>/dev/null; then
  nice -n 19 tar -C node_modules --owner=0 --group=0 -cf - \
    onnxruntime-node/package.json onnxruntime-node/dist onnxruntime-node/bin/napi-v6/linux/x64 \
    onnxruntime-common/package.json onnxruntime-common/dist \
    | nice -n 19 xz -T1 -9 >"$P/ort.tar.xz.tmp" && mv "$P/ort.tar.xz.tmp" "$P/ort.tar.xz"
fi

# 3. The Vulkan/EGL loaders (docs: /work/.library/device/README.md, "Headless rendering").
DEBS="libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2"
have=$(find "$P/debs" -name '*.deb' | wc -l)
if [ $FORCE = 1 ] || [ "$have" -ne 7 ]; then
  rm -f "$P/debs"/*.deb
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update >/dev/null
  # shellcheck disable=SC2086
  (cd "$P/debs" && apt-get $o download $DEBS 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  [ "$(find "$P/debs" -name '*.deb' | wc -l)" -eq 7 ] || { echo "pack: expected 7 .deb files in .gpu/debs" >&2; exit 1; }
fi

# 4. The probe as one ES module. The bundle sits two folders below the repo root, like the
# sources it was built from, so their `new URL('../../schemas/…', import.meta.url)` still finds
# the repo's schemas/. `require` is provided for the CommonJS packages inside (ajv).
nice -n 19 node_modules/esbuild/bin/esbuild bench/gpu/probe.ts --bundle --platform=node --format=esm --target=node20 \
  --tsconfig=tsconfig.json --external:onnxruntime-node --log-level=warning \
  --banner:js="import { createRequire as __probeRequire } from 'node:module'; const require = __probeRequire(import.meta.url);" \
  --outfile="$P/app/probe.mjs.tmp"
mv "$P/app/probe.mjs.tmp" "$P/app/probe.mjs"

{
  echo "node $NODE_VERSION"
  echo "onnxruntime-node $ORT_VERSION"
  for f in "$P"/debs/*.deb; do dpkg-deb -f "$f" Package Version Architecture 2>/dev/null | tr '\n' ' '; echo; done
  echo "built $(date -u +%FT%TZ) from $(git rev-parse --short HEAD)"
} >"$P/MANIFEST.txt"

size() { stat -c %s "$@" | awk '{s += $1} END {print s + 0}'; }
mib() { awk -v b="$1" 'BEGIN {printf "%.2f MiB", b / 1048576}'; }
# What the run tool sends: tracked files and untracked files git does not ignore.
TREE=$(git ls-files -co --exclude-standard -z | xargs -0 -r stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
N=$(size "$P/node.xz"); O=$(size "$P/ort.tar.xz"); D=$(size "$P"/debs/*.deb); A=$(size "$P/app/probe.mjs")
PACK=$(find "$P" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
TOTAL=$((TREE + PACK))
printf '%-34s %12s\n' "node $NODE_VERSION (stripped, xz)" "$(mib "$N")" "onnxruntime-node $ORT_VERSION (xz)" "$(mib "$O")" \
  "Vulkan/EGL loader debs (7)" "$(mib "$D")" "probe bundle (app/probe.mjs)" "$(mib "$A")" ".gpu/ in all" "$(mib "$PACK")" \
  "working tree that travels" "$(mib "$TREE")" "total" "$(mib "$TOTAL")" "limit" "$(mib "$LIMIT")"
if [ "$TOTAL" -gt "$LIMIT" ]; then
  echo "pack: $(mib "$TOTAL") is over the 64 MiB the device run can carry" >&2
  exit 1
fi
echo "pack: ok, $(mib $((LIMIT - TOTAL))) to spare"
