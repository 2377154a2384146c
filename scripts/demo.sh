#!/bin/sh
# The demo: build, then train with the embedded engine (examples/embed).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc 2>/dev/null || echo 2)" --target embed
./build/release/examples/embed
