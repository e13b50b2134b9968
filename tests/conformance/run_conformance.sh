#!/usr/bin/env bash
# Runs every conformance program through the plugin and compares r0 with the
# file's "-- result".
#   run_conformance.sh PLUGIN DATA_DIR hex        programs from DATA_DIR/bytecode/NAME.hex
#   run_conformance.sh PLUGIN DATA_DIR asm ASM    programs assembled from the .data by ASM
#                                                 (prints the program's hex for one .data file)
# CONFORMANCE_PLUGIN_FLAGS: extra plugin options for every run (e.g. "--jit").
set -uo pipefail
plugin=$1 data=$2 mode=$3 asm=${4:-}
pass=0 fail=0
for f in "$data"/tests/*.data; do
  name=$(basename "$f" .data)
  # The sections of the .data file: -- mem (hex bytes), -- result.
  mem=$(awk '/^--/{s=$2; next} s=="mem"{sub(/#.*/, ""); printf "%s ", $0}' "$f" | xargs)
  expected=$(awk '/^--/{s=$2; next} s=="result"{sub(/#.*/, ""); if ($1 != "") print $1}' "$f" | head -n 1)
  if [ "$mode" = hex ]; then
    program=$(cat "$data/bytecode/$name.hex")
  else
    if ! program=$("$asm" "$f" 2>&1); then
      echo "FAIL $name: the assembler failed: $program"
      fail=$((fail + 1))
      continue
    fi
  fi
  args=(${CONFORMANCE_PLUGIN_FLAGS:-})
  [ -n "$mem" ] && args+=("$mem")
  if ! out=$(printf '%s' "$program" | "$plugin" "${args[@]}" 2>&1); then
    echo "FAIL $name: the plugin failed: $out"
    fail=$((fail + 1))
    continue
  fi
  if [ $((16#$out)) != $((expected)) ] 2>/dev/null && [ "$(printf '%x' "$expected")" != "$out" ]; then
    echo "FAIL $name: r0 = 0x$out, expected $expected"
    fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
done
echo "conformance ($mode ${CONFORMANCE_PLUGIN_FLAGS:-}): $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
