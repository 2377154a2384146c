#!/bin/sh
# The whole test suite: a normal build (gcc) and an ASan+UBSan build
# (clang), each running every ctest, then the fuzzers' smoke runs.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh test

jobs=$(nproc 2>/dev/null || echo 2)

echo "== build: gcc, RelWithDebInfo"
cmake -S . -B build/gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc >/dev/null
cmake --build build/gcc -j "$jobs"
echo "== test: gcc"
ctest --test-dir build/gcc --output-on-failure -j "$jobs"

echo "== build: clang, ASan+UBSan"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	-DIGNITE_SANITIZE=ON >/dev/null
cmake --build build/asan -j "$jobs"
echo "== test: clang ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --test-dir build/asan --output-on-failure -j "$jobs"

if [ -f tests/fuzz/smoke.sh ]; then
	echo "== fuzz: smoke runs"
	cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
		-DIGNITE_FUZZ=ON >/dev/null
	cmake --build build/fuzz -j "$jobs"
	sh tests/fuzz/smoke.sh build/fuzz "${IGNITE_FUZZ_SECONDS:-20}"
fi
echo "== all tests passed"
