#!/usr/bin/env bash
# Unpacks node + onnxruntime-node into /tmp and runs the provider probe (device machine has no node).
set -u
P=$(cd "$(dirname "$0")" && pwd)
W=/tmp/probe; mkdir -p $W/lib
tar -C $W -xzf $P/pkg/node.tar.gz
tar -C $W -xzf $P/pkg/ort.tar.gz
cp $P/pkg/libvulkan.so.1 $W/lib/
cp $P/probe.mjs $P/*.onnx $P/*.json $W/
NODE=$(find $W -type f -name node -perm -u+x | head -1)
echo "node: $($NODE --version)"
export LD_LIBRARY_PATH=$W/lib:/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}
cat /usr/share/vulkan/icd.d/nvidia_icd.json | tr -d '\n' | head -c 300; echo
cd $W && timeout 400 $NODE probe.mjs 2>&1 | grep -v '^\s*$' | tail -40
