#!/bin/sh
# Builds one unit test with clang, AddressSanitizer and UndefinedBehaviorSanitizer
# (leak checking on), from its source and the library sources it needs, then runs
# it. Exits 77 (skipped) when clang or its sanitizer runtimes are missing.
# usage: run-sanitized.sh SOURCE_ROOT BUILD_DIR /path/to/TEST.cpp [LIB_SOURCES | -FLAGS]... [-- TEST_ARGS...]
# Arguments starting with '-' go to clang as they are (libtorch's and GLib's
# flags); those after '--' go to the test.
set -eu
root=$1 out=$2 test=$3
shift 3
sources=
while [ $# -gt 0 ] && [ "$1" != "--" ]; do sources="$sources $1"; shift; done
[ $# -gt 0 ] && shift
command -v clang++ >/dev/null 2>&1 || { echo "clang++ not found: skipping"; exit 77; }
name=$(basename "$test" .cpp)
if ! clang++ -std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
      -I"$root" "$test" $sources -o "$out/$name" 2>"$out/$name.build.log"; then
  if grep -q -e "asan" -e "ubsan" -e "cannot find" "$out/$name.build.log"; then
    cat "$out/$name.build.log"; echo "sanitizer runtimes unavailable: skipping"; exit 77
  fi
  cat "$out/$name.build.log"; exit 1
fi
# libtorch's own leaks (see tests/fuzz/lsan.supp) are not ours.
LSAN_OPTIONS="suppressions=$root/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS ASAN_OPTIONS UBSAN_OPTIONS
exec "$out/$name" "$@"
