#!/bin/sh
# Builds a libFuzzer target with clang (ASan + UBSan) and runs it for a bounded
# time. Exits 77 (skipped) when clang or libFuzzer is missing.
# usage: run-fuzzer.sh SOURCE_ROOT BUILD_DIR SECONDS TARGET.cpp [LIB_SOURCES | -FLAGS]... [-- FUZZER_FLAGS...]
# Arguments starting with '-' go to clang as they are (libtorch's include and
# link flags for the targets that need it); those after '--' go to the fuzzer.
set -eu
root=$1 out=$2 seconds=$3 target=$4
shift 4
sources=
while [ $# -gt 0 ] && [ "$1" != "--" ]; do sources="$sources $1"; shift; done
[ $# -gt 0 ] && shift
command -v clang++ >/dev/null 2>&1 || { echo "clang++ not found: skipping"; exit 77; }
name=$(basename "$target" .cpp)
mkdir -p "$out/$name-corpus"
if ! clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      -I"$root" "$root/$target" $sources -o "$out/$name" 2>"$out/$name.build.log"; then
  if grep -q -e "fuzzer" -e "cannot find" "$out/$name.build.log"; then
    cat "$out/$name.build.log"; echo "libFuzzer unavailable: skipping"; exit 77
  fi
  cat "$out/$name.build.log"; exit 1
fi
seeds="$root/tests/fuzz/seeds/$name"
LSAN_OPTIONS="suppressions=$root/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
"$out/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$@" \
  "$out/$name-corpus" $( [ -d "$seeds" ] && echo "$seeds" )
