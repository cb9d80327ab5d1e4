#!/bin/sh
# Builds the libFuzzer harness for the VHDX parser and runs it (npm run fuzz:vhdx [seconds]).
# Crashes land in native/fuzz/findings/; copy each into test/vhdx/fuzz-regressions/ (the suite replays them).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/.tmp/fuzz-vhdx"
seconds=${1:-60}
mkdir -p "$out" "$root/native/fuzz/corpus" "$root/native/fuzz/findings" "$root/test/vhdx/fuzz-regressions"
command -v clang++ >/dev/null || { echo "clang++ is missing: install clang and libclang-rt-14-dev" >&2; exit 1; }
clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I"$root/native/src" \
  "$root/native/fuzz/vhdx_fuzz.cc" "$root"/native/src/vhdx/*.cc "$root/native/src/core/native_error.cc" \
  "$root/native/src/platform/posix/file_posix.cc" -o "$out/vhdx_fuzz"
node "$root/native/fuzz/make-seeds.mjs" "$root/native/fuzz/corpus"
cd "$root/native/fuzz/findings"
"$out/vhdx_fuzz" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  "$root/native/fuzz/corpus" "$root/test/vhdx/fuzz-regressions"
