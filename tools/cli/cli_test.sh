#!/usr/bin/env bash
# Tests of the userbpf CLI, run by ctest (tools/cli/CMakeLists.txt).
#
#   cli_test.sh unit USERBPF   the CLI's output and errors, checked exactly
#   cli_test.sh diff USERBPF   the same commands through bpftool on the real
#                              kernel and through userbpf: same output
#                              (skips with 77 where the kernel's bpf() or
#                              bpftool is not available)
#
# Only map types userbpf registers (src/maps/map_types.def) are used; a type
# that is not there yet makes its checks fail rather than pass silently.
set -uo pipefail

MODE=${1:?usage: cli_test.sh unit|diff PATH_TO_USERBPF}
U=${2:?usage: cli_test.sh unit|diff PATH_TO_USERBPF}
export USERBPF_FS
USERBPF_FS=$(mktemp -d /tmp/userbpf-cli-test.XXXXXX)
KPIN=/sys/fs/bpf/userbpf_cli_test_$$
# Files the tests write (programs, objects): outside the pin root, where
# they would show as pins, and private to this run.
SCRATCH=$(mktemp -d /tmp/userbpf-cli-scratch.XXXXXX)
cleanup() {
  rm -rf "$USERBPF_FS" "$SCRATCH"
  [ "$MODE" = diff ] && rm -f "$KPIN"_* 2>/dev/null
  true
}
trap cleanup EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# expect NAME EXPECTED COMMAND...: stdout must be EXPECTED and the exit status 0.
expect() {
  local name=$1 want=$2; shift 2
  local got
  got=$("$@" 2>&1)
  local rc=$?
  if [ $rc -ne 0 ]; then fail "$name: exit $rc: $got"; return; fi
  if [ "$got" != "$want" ]; then
    fail "$name"
    diff <(echo "$want") <(echo "$got") | sed 's/^/    /'
    return
  fi
  pass
}

# expect_error NAME MESSAGE_PART COMMAND...: must fail, and say MESSAGE_PART.
expect_error() {
  local name=$1 part=$2; shift 2
  local got
  got=$("$@" 2>&1)
  local rc=$?
  if [ $rc -eq 0 ]; then fail "$name: succeeded, wanted an error: $got"; return; fi
  if [[ "$got" != *"$part"* ]]; then fail "$name: wanted '$part' in: $got"; return; fi
  pass
}

ncpus=$("$U" version | sed -n 's/^possible cpus: //p')

unit_tests() {
  local A=/sys/fs/bpf/t_arr P=/sys/fs/bpf/t_pcpu

  expect "create array" "" "$U" map create $A type array key 4 value 8 entries 4 name t_arr
  [ -f "$USERBPF_FS/t_arr" ] && pass || fail "create: no pin file $USERBPF_FS/t_arr"
  expect "show pinned" $'1: array  name t_arr  flags 0x0\n\tkey 4B  value 8B  max_entries 4' \
    "$U" map show pinned $A
  expect "show -j: bpftool's keys, in bpftool's order" \
    '{"id":1,"type":"array","name":"t_arr","flags":0,"bytes_key":4,"bytes_value":8,"max_entries":4}' \
    "$U" -j map show id 1
  expect "show by name" $'1: array  name t_arr  flags 0x0\n\tkey 4B  value 8B  max_entries 4' \
    "$U" map show name t_arr

  expect "update, C-notation bytes" "" "$U" map update pinned $A key 1 0 0 0 value 0x2a 0 0 0 0 0 0 012
  expect "update, hex bytes, exist" "" "$U" map update id 1 key hex 02 00 00 00 value hex ff 00 00 00 00 00 00 10 exist
  expect "lookup" "key: 01 00 00 00  value: 2a 00 00 00 00 00 00 0a" "$U" map lookup pinned $A key 1 0 0 0
  expect "lookup -j" '{"key":["0x02","0x00","0x00","0x00"],"value":["0xff","0x00","0x00","0x00","0x00","0x00","0x00","0x10"]}' \
    "$U" -j map lookup pinned $A key 2 0 0 0
  expect "dump" "key: 00 00 00 00  value: 00 00 00 00 00 00 00 00
key: 01 00 00 00  value: 2a 00 00 00 00 00 00 0a
key: 02 00 00 00  value: ff 00 00 00 00 00 00 10
key: 03 00 00 00  value: 00 00 00 00 00 00 00 00
Found 4 elements" "$U" map dump pinned $A
  expect "getnext, first key" $'key: None\nnext key:\n00 00 00 00' "$U" map getnext id 1
  expect "getnext after 2" $'key:\n02 00 00 00\nnext key:\n03 00 00 00' "$U" map getnext id 1 key 2 0 0 0
  expect "getnext -j" '{"key":["0x02","0x00","0x00","0x00"],"next_key":["0x03","0x00","0x00","0x00"]}' \
    "$U" -j map getnext id 1 key 2 0 0 0

  # The kernel's errnos, as the user sees them.
  expect_error "array: index past max_entries" "update failed: Argument list too long" \
    "$U" map update id 1 key 4 0 0 0 value 0 0 0 0 0 0 0 0
  expect_error "array: noexist" "update failed: File exists" \
    "$U" map update id 1 key 1 0 0 0 value 0 0 0 0 0 0 0 0 noexist
  expect_error "array: delete" "delete failed: Invalid argument" "$U" map delete id 1 key 1 0 0 0
  expect_error "getnext after the last key" "can't get next key: No such file or directory" \
    "$U" map getnext id 1 key 3 0 0 0
  expect_error "lookup past the end" "not found: No such file or directory" "$U" map lookup id 1 key 9 0 0 0
  expect_error "-j error object" '{"error":"can'"'"'t get map by id 99: No such file or directory"}' \
    "$U" -j map show id 99

  # Bad input: a clear message, and the map unchanged.
  expect_error "too few key bytes" "key expects 4 bytes, got 3" "$U" map lookup id 1 key 1 0 0
  expect_error "too many bytes" "unexpected argument '0'" "$U" map lookup id 1 key 1 0 0 0 0
  expect_error "byte over 255" "does not fit in one byte" "$U" map lookup id 1 key 256 0 0 0
  expect_error "bad hex byte" "cannot parse key byte 'zz' as hex" "$U" map lookup id 1 key hex zz 0 0 0
  expect_error "negative byte" "cannot parse key byte '-1'" "$U" map lookup id 1 key -1 0 0 0
  expect_error "missing value" "'value' expected" "$U" map update id 1 key 1 0 0 0
  expect_error "bad update flag" "unexpected argument 'sometimes'" \
    "$U" map update id 1 key 1 0 0 0 value 1 0 0 0 0 0 0 0 sometimes
  expect_error "bad map reference" "expected 'id', 'pinned' or 'name'" "$U" map dump idx 1
  expect_error "id not a number" "cannot parse map id 'one'" "$U" map dump id one
  expect_error "no such pin" "can't open pinned object /sys/fs/bpf/nope: No such file or directory" \
    "$U" map dump pinned /sys/fs/bpf/nope
  expect_error "no such name" "no map named 'nope'" "$U" map dump name nope
  expect_error "unknown type" "unknown map type 'hashy'" "$U" map create /sys/fs/bpf/x type hashy key 4 value 4 entries 1
  expect_error "missing entries" "number of entries not specified" "$U" map create /sys/fs/bpf/x type array key 4 value 4
  expect_error "name too long" "is too long (at most 15 characters)" \
    "$U" map create /sys/fs/bpf/x type array key 4 value 4 entries 1 name abcdefghijklmnop
  expect_error "kernel's EINVAL for key_size 8" "map create failed: Invalid argument" \
    "$U" map create /sys/fs/bpf/x type array key 8 value 4 entries 1
  expect_error "pin outside bpffs" "Operation not permitted (pins go under /sys/fs/bpf/" \
    "$U" map create /tmp/x type array key 4 value 4 entries 1
  expect_error "pin exists" "can't pin the new map at $A: File exists" \
    "$U" map create $A type array key 4 value 4 entries 1
  [ ! -e "$USERBPF_FS/x" ] && pass || fail "a failed create left a pin"
  expect "map unchanged by the bad input" '{"key":["0x01","0x00","0x00","0x00"],"value":["0x2a","0x00","0x00","0x00","0x00","0x00","0x00","0x0a"]}' \
    "$U" -j map lookup id 1 key 1 0 0 0

  # Per-CPU: one value per possible CPU; update sets them all.
  expect "create percpu_array" "" "$U" map create $P type percpu_array key 4 value 4 entries 2 name t_pcpu
  # Ids are not reused at once: the maps whose pin failed above used some.
  local pid
  pid=$("$U" -j map show pinned $P | sed -n 's/^{"id":\([0-9]*\),.*/\1/p')
  expect "percpu update" "" "$U" map update pinned $P key 1 0 0 0 value 5 0 0 0
  local want_lookup="key:"$'\n'"01 00 00 00" want_json='' cpu
  for ((cpu = 0; cpu < ncpus; cpu++)); do
    want_lookup+=$'\n'"$(printf 'value (CPU %02d): 05 00 00 00' "$cpu")"
    want_json+="${want_json:+,}{\"cpu\":$cpu,\"value\":[\"0x05\",\"0x00\",\"0x00\",\"0x00\"]}"
  done
  expect "percpu lookup: one value per CPU" "$want_lookup" "$U" map lookup pinned $P key 1 0 0 0
  expect "percpu lookup -j" "{\"key\":[\"0x01\",\"0x00\",\"0x00\",\"0x00\"],\"values\":[$want_json]}" \
    "$U" -j map lookup pinned $P key 1 0 0 0
  local dump
  dump=$("$U" map dump pinned $P)
  [[ "$dump" == *"Found 2 elements" ]] && pass || fail "percpu dump: $dump"

  # Hash maps: the kernel's errnos at the edges.
  local H=/sys/fs/bpf/t_hash
  expect "create hash" "" "$U" map create $H type hash key 4 value 4 entries 2 name t_hash
  expect "hash update" "" "$U" map update pinned $H key 1 0 0 0 value 1 0 0 0 noexist
  expect "hash update 2" "" "$U" map update pinned $H key 2 0 0 0 value 2 0 0 0
  expect_error "hash full" "update failed: Argument list too long" "$U" map update pinned $H key 3 0 0 0 value 3 0 0 0
  expect "hash full, replace" "" "$U" map update pinned $H key 2 0 0 0 value 4 0 0 0 exist
  expect_error "hash exist on a missing key" "update failed: No such file or directory" \
    "$U" map update pinned $H key 5 0 0 0 value 3 0 0 0 exist
  local first
  first=$("$U" -j map getnext pinned $H | sed -n 's/.*"next_key":\(\[[^]]*\]\).*/\1/p')
  expect "hash getnext of a missing key gives the first key" "{\"key\":[\"0x09\",\"0x00\",\"0x00\",\"0x00\"],\"next_key\":$first}" \
    "$U" -j map getnext pinned $H key 9 0 0 0
  expect "hash delete" "" "$U" map delete pinned $H key 1 0 0 0
  expect_error "hash delete again" "delete failed: No such file or directory" "$U" map delete pinned $H key 1 0 0 0
  expect "hash dump" $'key: 02 00 00 00  value: 04 00 00 00\nFound 1 element' "$U" map dump pinned $H
  rm "$USERBPF_FS/t_hash"

  # Queues and stacks: no keys; push, pop and peek (bpftool's verbs).
  local Q="$USERBPF_FS/t_queue"
  expect "create queue" "" "$U" map create $Q type queue key 0 value 4 entries 2
  expect "queue push" "" "$U" map push pinned $Q value 1 0 0 0
  expect "queue enqueue" "" "$U" map enqueue pinned $Q value 2 0 0 0
  expect_error "queue full" "update failed: Argument list too long" "$U" map push pinned $Q value 3 0 0 0
  expect "queue full, exist" "" "$U" map push pinned $Q value 3 0 0 0 exist
  expect "queue peek" "value: 02 00 00 00" "$U" map peek pinned $Q
  expect "queue pop -j" '{"key":[],"value":["0x02","0x00","0x00","0x00"]}' "$U" -j map pop pinned $Q
  expect "queue dequeue" "value: 03 00 00 00" "$U" map dequeue pinned $Q
  expect_error "queue pop, empty" "pop failed (the map is empty)" "$U" map pop pinned $Q
  rm "$Q"

  # Long values get blocks of 16 bytes, as in bpftool.
  expect "create wide array" "" "$U" map create /sys/fs/bpf/t_wide type array key 4 value 20 entries 1
  expect "update wide" "" "$U" map update pinned /sys/fs/bpf/t_wide key 0 0 0 0 value $(seq 1 20)
  expect "wide lookup layout" $'key:\n00 00 00 00\nvalue:\n01 02 03 04 05 06 07 08  09 0a 0b 0c 0d 0e 0f 10\n11 12 13 14' \
    "$U" map lookup pinned /sys/fs/bpf/t_wide key 0 0 0 0
  rm "$USERBPF_FS/t_wide"

  # Pins, show, freeze.
  mkdir "$USERBPF_FS/dir"
  expect "pin again" "" "$U" map pin name t_pcpu /sys/fs/bpf/dir/second
  expect "show -f lists the pins" "$pid"$': percpu_array  name t_pcpu  flags 0x0\n\tkey 4B  value 4B  max_entries 2\n\tpinned /sys/fs/bpf/dir/second\n\tpinned /sys/fs/bpf/t_pcpu' \
    "$U" -f map show id "$pid"
  expect "show all -j" '[{"id":1,"type":"array","name":"t_arr","flags":0,"bytes_key":4,"bytes_value":8,"max_entries":4},{"id":'"$pid"',"type":"percpu_array","name":"t_pcpu","flags":0,"bytes_key":4,"bytes_value":4,"max_entries":2}]' \
    "$U" -j map show
  expect "freeze" "" "$U" map freeze id 1
  expect_error "update after freeze" "update failed: Operation not permitted" \
    "$U" map update id 1 key 1 0 0 0 value 0 0 0 0 0 0 0 0
  expect "lookup after freeze" "key: 01 00 00 00  value: 2a 00 00 00 00 00 00 0a" "$U" map lookup id 1 key 1 0 0 0

  # Removing the last pin frees the map, as on bpffs.
  rm "$USERBPF_FS/t_arr" "$USERBPF_FS/t_pcpu"
  expect "one pin left" "$pid"$': percpu_array  name t_pcpu  flags 0x0\n\tkey 4B  value 4B  max_entries 2' "$U" map show
  rm "$USERBPF_FS/dir/second"
  expect "no maps left" "" "$U" map show
  expect "no maps left, -j" "[]" "$U" -j map show

  # prog dump xlated of raw instructions (hex text or binary), kernel syntax.
  local prog="$SCRATCH/prog.hex"
  printf 'b7 00 00 00 2a 00 00 00\n07 00 00 00 01 00 00 00\n95 00 00 00 00 00 00 00\n' >"$prog"
  expect "prog dump xlated (hex)" $'   0: (b7) r0 = 42\n   1: (07) r0 += 1\n   2: (95) exit' \
    "$U" prog dump xlated file "$prog"
  printf '\xb7\x00\x00\x00\x2a\x00\x00\x00\x95\x00\x00\x00\x00\x00\x00\x00' >"$prog"
  expect "prog dump xlated (binary), -j" '[{"disasm":"(b7) r0 = 42"},{"disasm":"(95) exit"}]' \
    "$U" -j prog dump xlated file "$prog"
  printf '\xff\x00\x00\x00\x00\x00\x00\x00' >"$prog"
  expect_error "prog dump xlated: bad opcode named" "insn 0: unknown opcode 0xff" "$U" prog dump xlated file "$prog"
  expect_error "prog dump xlated: missing file" "cannot open" "$U" prog dump xlated file /nonexistent/x

  # verify: the verifier's verdict through BPF_PROG_LOAD; exit 0/1.
  printf 'b7 00 00 00 00 00 00 00\n95 00 00 00 00 00 00 00\n' >"$prog"
  expect "verify: accepted" "verified: 2 instructions processed" "$U" verify "$prog"
  expect "verify: accepted, xdp, -j" '{"file":"'"$prog"'","verified":true,"processed_insns":2,"log":"processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n"}' \
    "$U" -j verify --type xdp "$prog"
  expect "verify: --log-level prints the log" $'processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\nverified: 2 instructions processed' \
    "$U" verify --log-level 1 "$prog"
  # r0 = r2 (not initialized): rejected, the log says why.
  printf 'bf 20 00 00 00 00 00 00\n95 00 00 00 00 00 00 00\n' >"$prog"
  expect_error "verify: rejected" "R2 !read_ok" "$U" verify "$prog"
  expect_error "verify: rejected, errno named" "rejected by the verifier: Permission denied" "$U" verify "$prog"
  expect_error "verify: rejected, the instruction and reason named" \
    "rejected by the verifier: Permission denied at insn 0 \`(bf) r0 = r2\`: R2 !read_ok" "$U" verify "$prog"
  # r0 = r1 (the context pointer) returned: a leak only unprivileged loaders may not make.
  printf 'bf 10 00 00 00 00 00 00\n95 00 00 00 00 00 00 00\n' >"$prog"
  expect "verify: pointer leak, privileged" "verified: 2 instructions processed" "$U" verify "$prog"
  expect_error "verify: pointer leak, --unprivileged" "R0 leaks addr as return value" "$U" verify --unprivileged "$prog"
  expect_error "verify: pointer leak, USERBPF_UNPRIVILEGED=1" "R0 leaks addr" env USERBPF_UNPRIVILEGED=1 "$U" verify "$prog"
  expect_error "verify: unknown type" "unknown program type 'foo'" "$U" verify --type foo "$prog"
  printf 'b7 00 00 00 00 00 00\n' >"$prog"
  expect_error "verify: partial instruction" "not a whole number of 8-byte instructions" "$U" verify "$prog"
  printf '\x7fELF\x02\x01\x01\x00' >"$prog"
  expect_error "verify: a truncated ELF header" "libbpf cannot open it as a BPF object: BPF object format invalid" \
    "$U" verify "$prog"
  verify_elf_tests
  btf_map_tests
  expect_error "verify: missing file" "cannot open" "$U" verify /nonexistent/x

  # prog load / show: a pinned program, shown as bpftool shows it.
  printf 'b7 00 00 00 00 00 00 00\n95 00 00 00 00 00 00 00\n' >"$prog"
  expect "prog load" "" "$U" prog load "$prog" /sys/fs/bpf/t_prog name t_prog
  local prog_id
  prog_id=$("$U" -j prog show pinned /sys/fs/bpf/t_prog | sed -n 's/^{"id":\([0-9]*\),.*/\1/p')
  # jited: the JIT's code size on x86-64 (the info call builds this process's code), else not jited.
  local jited_json='"jited":false' jited_text='not jited' jited_norm='s/"bytes_jited":[1-9][0-9]*/"bytes_jited":N/; s/jited [1-9][0-9]*B/jited NB/'
  if [ "$(uname -m)" = x86_64 ]; then jited_json='"jited":true,"bytes_jited":N' jited_text='jited NB'; fi
  expect "prog show pinned, -j" '{"id":'"$prog_id"',"type":"socket_filter","name":"t_prog","tag":"59f4a931744dcdc6","gpl_compatible":true,"loaded_at":'"$("$U" -j prog show id "$prog_id" | sed -n 's/.*"loaded_at":\([0-9]*\).*/\1/p')"',"uid":'"$(id -u)"',"bytes_xlated":16,'"$jited_json"',"verified_insns":2}' \
    bash -c "'$U' -j prog show pinned /sys/fs/bpf/t_prog | sed '$jited_norm'"
  expect "prog show id (without loaded_at)" "$prog_id"$': socket_filter  name t_prog  tag 59f4a931744dcdc6  gpl\n\txlated 16B  '"$jited_text"$'\n\tverified_insns 2' \
    bash -c "'$U' prog show id $prog_id | grep -v loaded_at | sed '$jited_norm'"
  expect "prog show --interpret: not jited" $'\txlated 16B  not jited' \
    bash -c "'$U' --interpret prog show id $prog_id | grep xlated"
  expect "prog show, USERBPF_JIT=0: not jited" $'\txlated 16B  not jited' \
    bash -c "USERBPF_JIT=0 '$U' prog show id $prog_id | grep xlated"
  expect "prog list: every program" "$prog_id: socket_filter  name t_prog  tag 59f4a931744dcdc6  gpl" \
    bash -c "'$U' prog list | grep '^[0-9]'"
  expect "prog dump xlated pinned" $'   0: (b7) r0 = 0\n   1: (95) exit' "$U" prog dump xlated pinned /sys/fs/bpf/t_prog
  expect "prog dump xlated id" $'   0: (b7) r0 = 0\n   1: (95) exit' "$U" prog dump xlated id "$prog_id"
  # prog dump jited: the x86-64 code (capstone), under the BPF instruction it came from.
  if [ "$(uname -m)" = x86_64 ]; then
    expect "prog dump jited pinned: the parts" $'; entry, error exits\n; 0: (b7) r0 = 0\n; 1: (95) exit' \
      bash -c "'$U' prog dump jited pinned /sys/fs/bpf/t_prog | grep '^;'"
    expect "prog dump jited id: r0 = 0" $'xor     eax, eax' \
      bash -c "'$U' prog dump jited id $prog_id | sed -n '/^; 0:/,/^; 1:/p' | grep -o 'xor     eax, eax'"
    expect "prog dump jited, -j" '"bpf":"0: (b7) r0 = 0","insns":[{"pc":"0x","operation":"push","operands":"rbp","opcodes":[85]}' \
      bash -c "'$U' -j prog dump jited id $prog_id | grep -o '\"bpf\":\"0: [^]]*\"opcodes\":\[85\]}' | sed 's/0x[0-9a-f]*/0x/'"
    expect_error "prog dump jited: interpreter" "programs run in the interpreter here" \
      env USERBPF_JIT=0 "$U" prog dump jited id "$prog_id"
    expect_error "prog dump jited: --interpret" "programs run in the interpreter here" \
      "$U" --interpret prog dump jited id "$prog_id"
    expect_error "prog dump jited: usage" "usage: userbpf prog dump jited" "$U" prog dump jited "$prog_id"
  fi
  expect_error "prog show: unknown id" "can't get program by id 999999" "$U" prog show id 999999
  "$U" map create /sys/fs/bpf/t_map type array key 4 value 4 entries 1 >/dev/null
  expect_error "prog show: a pinned map" "is a pinned object, but not a program" "$U" prog show pinned /sys/fs/bpf/t_map
  rm "$USERBPF_FS/t_map"
  expect_error "prog load: rejected" "can't load the program: Permission denied at insn 0 \`(bf) r0 = r2\`: R2 !read_ok" \
    bash -c "printf 'bf 20 00 00 00 00 00 00\n95 00 00 00 00 00 00 00\n' >'$prog'; '$U' prog load '$prog' /sys/fs/bpf/t_bad"
  # prog run: BPF_PROG_TEST_RUN of a pinned XDP program returning XDP_PASS.
  printf 'b7 00 00 00 02 00 00 00\n95 00 00 00 00 00 00 00\n' >"$prog"
  expect "prog load xdp" "" "$U" prog load "$prog" /sys/fs/bpf/t_xdp type xdp
  local frame="ffffffffffff 020000000001 0800 4500"
  expect "prog run hex" $'data_out:\nff ff ff ff ff ff 02 00 00 00 00 01 08 00 45 00\n\nReturn value: 2, duration: Nns' \
    bash -c "'$U' prog run pinned /sys/fs/bpf/t_xdp hex $frame | sed 's/duration: [0-9]*ns/duration: Nns/'"
  expect "prog run -j, repeat" '{"data_out":["0xff","0xff","0xff","0xff","0xff","0xff","0x02","0x00","0x00","0x00","0x00","0x01","0x08","0x00","0x45","0x00"],"retval":2,"duration":N}' \
    bash -c "'$U' -j prog run pinned /sys/fs/bpf/t_xdp hex $frame repeat 100 | sed 's/\"duration\":[0-9]*/\"duration\":N/'"
  printf '\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\x01\x08\x00\x45\x00' >"$SCRATCH/frame"
  expect "prog run data_in/data_out files" "Return value: 2, duration (average): Nns" \
    bash -c "'$U' prog run pinned /sys/fs/bpf/t_xdp data_in '$SCRATCH/frame' data_out '$SCRATCH/out' repeat 3 | sed 's/: [0-9]*ns/: Nns/'"
  expect "prog run: data_out file is the packet" "" cmp "$SCRATCH/frame" "$SCRATCH/out"
  expect_error "prog run: shorter than an Ethernet header" "failed to run program: Invalid argument" \
    "$U" prog run pinned /sys/fs/bpf/t_xdp hex 0011
  expect_error "prog run: bad hex" "'0g' is not hex bytes" "$U" prog run pinned /sys/fs/bpf/t_xdp hex 0g
  expect_error "prog run: unknown word" "unexpected 'bogus'" "$U" prog run pinned /sys/fs/bpf/t_xdp bogus
  expect_error "prog run: missing data_in file" "cannot open data_in file" \
    "$U" prog run pinned /sys/fs/bpf/t_xdp data_in /nonexistent/x
  rm "$USERBPF_FS/t_xdp" "$SCRATCH/frame" "$SCRATCH/out"
  rm "$USERBPF_FS/t_prog"
  expect "prog list: none left" "[]" "$U" -j prog list
  rm -f "$prog"
}

# expect_shape NAME WANT_RC EXPECTED COMMAND...: the output (stdout and
# stderr) with every number replaced by N must be EXPECTED, and the exit
# status WANT_RC. For verdicts of compiled C, whose instruction counts and
# register numbers depend on clang's code generation.
expect_shape() {
  local name=$1 want_rc=$2 want=$3; shift 3
  local got rc
  got=$("$@" 2>&1); rc=$?
  got=$(sed 's/[0-9][0-9]*/N/g' <<<"$got")
  if [ $rc -ne "$want_rc" ]; then fail "$name: exit $rc, wanted $want_rc: $got"; return; fi
  if [ "$got" != "$want" ]; then
    fail "$name"
    diff <(echo "$want") <(echo "$got") | sed 's/^/    /'
    return
  fi
  pass
}

# verify of ELF objects: C compiled here with clang -target bpf -O2 -g, loaded
# by libbpf inside the CLI, every program on its own with its own verdict.
verify_elf_tests() {
  if ! command -v clang >/dev/null; then
    echo "SKIP: clang not found: the ELF checks of 'verify' need it to compile BPF C"
    return
  fi
  local dir=$SCRATCH multiarch
  [ -d "$dir" ] || { fail "verify ELF: no scratch directory"; return; }
  multiarch=$(gcc -print-multiarch 2>/dev/null || true)
  cat >"$dir/progs.c" <<'END_OF_C'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

SEC("socket")
int count_packets(struct __sk_buff *skb) {
  __u32 key = 0;
  __u64 *v = bpf_map_lookup_elem(&counters, &key);
  if (v) __sync_fetch_and_add(v, 1);
  return 0;
}

#ifndef ONLY_GOOD
/* A pointer stored into a map: allowed for root, a leak without CAP_PERFMON. */
SEC("socket")
int leak_ctx(struct __sk_buff *skb) {
  __u32 key = 1;
  __u64 *v = bpf_map_lookup_elem(&counters, &key);
  if (v) *v = (unsigned long)skb;
  return 0;
}

/* Reads the packet without comparing against data_end first. */
SEC("xdp")
int xdp_no_bounds(struct xdp_md *ctx) {
  unsigned char *data = (void *)(long)ctx->data;
  return data[12] == 0x08 ? XDP_PASS : XDP_DROP;
}

SEC("foo")
int in_foo(void *ctx) { return 0; }
#endif

char LICENSE[] SEC("license") = "GPL";
END_OF_C
  echo 'int x = 1;' >"$dir/noprogs.c"
  local cc=(timeout 60 clang -target bpf -O2 -g ${multiarch:+-I/usr/include/$multiarch} -c)
  local out
  if ! out=$("${cc[@]}" "$dir/progs.c" -o "$dir/progs.o" 2>&1) ||
     ! out=$("${cc[@]}" -DONLY_GOOD "$dir/progs.c" -o "$dir/good.o" 2>&1) ||
     ! out=$("${cc[@]}" "$dir/noprogs.c" -o "$dir/noprogs.o" 2>&1); then
    fail "verify ELF: clang -target bpf failed: $out"
    return
  fi
  local o=$dir/progs.o g=$dir/good.o

  expect_shape "verify ELF: accepted" 0 "count_packets (socket): verified, N instructions processed" \
    "$U" verify "$g"
  expect_shape "verify ELF: --log-level 1 prints the log after the verdict" 0 \
    $'count_packets (socket): verified, N instructions processed\nprocessed N insns (limit N) max_states_per_insn N total_states N peak_states N mark_read N' \
    "$U" verify --log-level 1 "$g"
  # The verdict lines and the summary (the logs in between are checked below).
  expect_shape "verify ELF: one verdict per program" 0 "count_packets (socket): verified, N instructions processed
leak_ctx (socket): verified, N instructions processed
xdp_no_bounds (xdp): rejected (EACCES): RN offset is outside of the packet
in_foo (foo): rejected (EINVAL): prog 'in_foo': missing BPF prog type, check ELF section name 'foo' (a section libbpf does not know: give the program type with --type)
Error: '$(sed 's/[0-9][0-9]*/N/g' <<<"$o")': N of N programs rejected
exit N" \
    bash -c "'$U' verify '$o' 2>&1 | grep -E '^([a-z_]+ \\(|Error: )'; echo exit \${PIPESTATUS[0]}"
  "$U" verify "$o" >/dev/null 2>&1
  [ $? -eq 1 ] && pass || fail "verify ELF: exit status 1 when a program is rejected"
  expect_error "verify ELF: the log says why" $'invalid access to packet, off=12 size=1' "$U" verify "$o"
  expect_shape "verify ELF: the log names the instruction" 0 "N: (N) rN = *(uN *)(rN +N)" \
    bash -c "'$U' verify '$o' 2>&1 | grep -A2 '^xdp_no_bounds' | grep -F '(71)'"
  # The error names the file, each rejected program's section, the
  # instruction the verifier stopped at (its log's last one) and the reason.
  expect_shape "verify ELF: the error names section, instruction and reason" 0 \
    "Error: '$(sed 's/[0-9][0-9]*/N/g' <<<"$o")': N of N programs rejected
  program 'xdp_no_bounds' in section 'xdp' rejected (EACCES) at insn N \`(N) rN = *(uN *)(rN +N)\`: RN offset is outside of the packet
  program 'in_foo' in section 'foo' rejected (EINVAL): prog 'in_foo': missing BPF prog type, check ELF section name 'foo' (a section libbpf does not know: give the program type with --type)" \
    bash -c "'$U' verify '$o' 2>&1 | sed -n '/^Error: /,\$p'"
  expect_error "verify ELF: libbpf's messages kept" \
    "libbpf: prog 'xdp_no_bounds': BPF program load failed: Permission denied" "$U" verify "$o"
  expect_shape "verify ELF: --unprivileged" 0 "count_packets (socket): verified, N instructions processed
leak_ctx (socket): rejected (EACCES): RN leaks addr into map
xdp_no_bounds (xdp): rejected (EACCES): RN offset is outside of the packet" \
    bash -c "'$U' verify --unprivileged '$o' 2>&1 | grep -E '^[a-z_]+ \\((socket|xdp)\\)'"
  # --type: every program gets that type; in_foo's unknown section is then fine.
  expect_shape "verify ELF: --type gives every program that type" 0 \
    "count_packets (socket): verified, N instructions processed
leak_ctx (socket): verified, N instructions processed
xdp_no_bounds (xdp): rejected (EACCES): RN offset is outside of the packet
in_foo (foo): verified, N instructions processed" \
    bash -c "'$U' verify --type xdp '$o' 2>&1 | grep -E '^[a-z_]+ \\('"
  expect_shape "verify ELF: --type socket_filter: the XDP program reads __sk_buff" 0 \
    "xdp_no_bounds (xdp): rejected (EACCES): RN invalid mem access 'scalar'" \
    bash -c "'$U' verify --type socket_filter '$o' 2>&1 | grep -E '^xdp_no_bounds'"
  # -j: one object per program, the errno by name, the verifier's last line.
  local json rc
  json=$("$U" -j verify "$o" 2>&1); rc=$?
  [ $rc -eq 1 ] && pass || fail "verify ELF -j: exit $rc"
  local want_json='^\{"file":"[^"]*progs\.o","verified":false,"programs":\['
  want_json+='\{"name":"count_packets","section":"socket","type":"socket_filter","verified":true,"processed_insns":[0-9]+,"log":"processed [0-9]+ insns [^"]*"\},'
  want_json+='\{"name":"leak_ctx","section":"socket","type":"socket_filter","verified":true,"processed_insns":[0-9]+,"log":"[^"]*"\},'
  want_json+='\{"name":"xdp_no_bounds","section":"xdp","type":"xdp","verified":false,"errno":"EACCES","error":"R[0-9] offset is outside of the packet","insn":"[0-9]+: \(71\) r[0-9] = \*\(u8 \*\)\(r[0-9] \+12\)","log":"[^"]*invalid access to packet[^"]*","libbpf_log":"[^"]*"\},'
  want_json+='\{"name":"in_foo","section":"foo","type":"unspec","verified":false,"errno":"EINVAL","error":"prog '"'"'in_foo'"'"': missing BPF prog type[^"]*","log":"","libbpf_log":"[^"]*"\}\]\}$'
  [[ "$json" =~ $want_json ]] && pass || fail "verify ELF -j: got $json"
  expect_error "verify ELF: no programs" "no BPF programs in this object" "$U" verify "$dir/noprogs.o"
  expect "verify ELF: nothing left loaded" "[]" "$U" -j prog list

  # prog load of an ELF object, as bpftool: all programs loaded, the first
  # pinned; its map lives on through it; a rejected program fails the load.
  expect "prog load ELF" "" "$U" prog load "$g" /sys/fs/bpf/t_elf
  expect_shape "prog load ELF: the first program, pinned" 0 "N: socket_filter  name count_packets  tag N  gpl" \
    bash -c "'$U' prog show pinned /sys/fs/bpf/t_elf | head -n 1 | sed 's/tag [0-9a-f]*/tag N/'"
  expect_shape "prog load ELF: its map" 0 "N: array  name counters  flags NxN" \
    bash -c "'$U' map show | head -n 1"
  expect_shape "prog load ELF: it runs" 0 "Return value: N, duration: Nns" \
    bash -c "'$U' prog run pinned /sys/fs/bpf/t_elf hex $(printf '00%.0s' $(seq 1 64)) | grep Return"
  rm "$USERBPF_FS/t_elf"
  expect_error "prog load ELF: a rejected program fails the load, with the verifier's reason" \
    "invalid access to packet, off=12 size=1" "$U" prog load "$o" /sys/fs/bpf/t_elf_bad type xdp
  expect_shape "prog load ELF: the error's first line names program, section, instruction and reason" 0 \
    "Error: '$(sed 's/[0-9][0-9]*/N/g' <<<"$o")': program 'xdp_no_bounds' in section 'xdp' rejected (EACCES) at insn N \`(N) rN = *(uN *)(rN +N)\`: RN offset is outside of the packet" \
    bash -c "'$U' prog load '$o' /sys/fs/bpf/t_elf_bad type xdp 2>&1 | head -n 1"
  expect_shape "prog load ELF: the verifier's log follows" 0 "N: (N) rN = *(uN *)(rN +N)" \
    bash -c "'$U' prog load '$o' /sys/fs/bpf/t_elf_bad type xdp 2>&1 | grep '^[0-9]*: (71)'"
  printf '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("foo") int in_foo(void *ctx) { return 0; }\n' >"$dir/foo.c"
  if out=$("${cc[@]}" "$dir/foo.c" -o "$dir/foo.o" 2>&1); then
    expect_error "prog load ELF: a program libbpf refuses is named with its section" \
      "': program 'in_foo' in section 'foo' rejected (EINVAL): prog 'in_foo': missing BPF prog type, check ELF section name 'foo'" \
      "$U" prog load "$dir/foo.o" /sys/fs/bpf/t_elf_bad
  else
    fail "prog load ELF: clang failed: $out"
  fi
  [ ! -e "$USERBPF_FS/t_elf_bad" ] && pass || fail "prog load ELF: a failed load left a pin"
  expect_error "prog load ELF: name is for raw instructions" "'name' is for raw instructions" \
    "$U" prog load "$g" /sys/fs/bpf/t_elf2 name x

  # Corrupt objects: a clear error and exit status 1, never a crash. libbpf
  # parses the ELF itself (and 1.1 can crash on some damage); the CLI
  # contains that.
  head -c 600 "$o" >"$dir/cut.o"
  expect_error "verify ELF: truncated object" "libbpf cannot open it as a BPF object" "$U" verify "$dir/cut.o"
  expect_error "prog load ELF: truncated object" "libbpf cannot open it as a BPF object" \
    "$U" prog load "$dir/cut.o" /sys/fs/bpf/t_elf3
  local size i n bad=0
  size=$(stat -c %s "$o")
  RANDOM=4242
  for ((i = 0; i < 40; i++)); do
    cp "$o" "$dir/bad.o"
    for ((n = 0; n <= i % 6; n++)); do
      printf "\\x$(printf %02x $((RANDOM % 256)))" |
        dd of="$dir/bad.o" bs=1 seek=$((16 + (RANDOM * 32768 + RANDOM) % (size - 16))) conv=notrunc 2>/dev/null
    done
    out=$(timeout 60 "$U" verify "$dir/bad.o" 2>&1); rc=$?
    # Any verdict will do (the damage may miss what matters); a crash, a
    # hang or a failure without a message will not.
    if [ $rc -gt 1 ] || { [ $rc -eq 1 ] && [[ "$out" != *"Error: "* ]]; }; then
      bad=$((bad + 1))
      fail "verify ELF: corrupted object $i: exit $rc: ${out:0:300}"
    fi
  done
  [ $bad -eq 0 ] && pass
}

# compile_btf_object DIR: DIR/btf.o, an XDP program with BTF-typed maps
# (structs, bitfields, enums, strings, pointers, per-CPU values) and global
# data (.rodata, .data, .bss), compiled with clang -g. Fails without clang.
compile_btf_object() {
  local dir=$1 multiarch
  command -v clang >/dev/null || { echo "clang not found"; return 1; }
  multiarch=$(gcc -print-multiarch 2>/dev/null || true)
  cat >"$dir/btf.c" <<'END_OF_C'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow {
  __u32 saddr;
  __u16 port;
  __u8 proto;
  char tag[5];
};
enum verdict { PASSED = 1, DROPPED = 2 };
struct stats {
  __u64 packets;
  __s32 delta;
  unsigned int low : 3, high : 5;
  int pair[2];
  enum verdict last;
  union { __u32 word; __u8 bytes[4]; } raw;
  void *cookie;
  _Bool seen;
  char note[6];
};
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, struct flow);
  __type(value, struct stats);
} flows SEC(".maps");
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __s16);
} per_cpu SEC(".maps");

volatile const __u32 limit = 7;
volatile const char greeting[6] = "hello";
__u64 total = 0;
int counter = 3;

/* A BPF-to-BPF call: a second function, with its own func_info. */
static __attribute__((noinline)) int bump(int value) { return value + 1; }

SEC("xdp")
int count(struct xdp_md *ctx) {
  struct flow f = {};
  struct stats s = {};
  __u32 zero = 0;
  f.saddr = limit;
  f.tag[0] = 'x';
  s.packets = greeting[1];
  s.delta = -5;
  s.low = 5;
  s.high = 17;
  s.last = DROPPED;
  s.raw.word = 0x01020304;
  s.seen = 1;
  s.note[0] = 1;
  bpf_map_update_elem(&flows, &f, &s, 0);
  __s16 *c = bpf_map_lookup_elem(&per_cpu, &zero);
  if (c) *c -= 1;
  total += 2;
  counter = bump(counter);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
END_OF_C
  timeout 60 clang -target bpf -O2 -g ${multiarch:+-I/usr/include/$multiarch} -c "$dir/btf.c" -o "$dir/btf.o"
}

# Maps with BTF print their keys and values by type, as bpftool does.
btf_map_tests() {
  local out
  if ! out=$(compile_btf_object "$SCRATCH" 2>&1); then
    [[ "$out" == "clang not found" ]] && { echo "SKIP: clang not found: the BTF map checks need it"; return; }
    fail "BTF maps: cannot compile the test object: $out"
    return
  fi
  expect "BTF maps: prog load" "" "$U" prog load "$SCRATCH/btf.o" /sys/fs/bpf/t_btf
  expect_shape "BTF maps: run once" 0 "Return value: N, duration: Nns" \
    bash -c "'$U' prog run pinned /sys/fs/bpf/t_btf hex $(printf '00%.0s' $(seq 1 64)) | grep Return"
  expect "BTF maps: dump of a struct-keyed hash" '[{
        "key": {
            "saddr": 7,
            "port": 0,
            "proto": 0,
            "tag": "x"
        },
        "value": {
            "packets": 101,
            "delta": -5,
            "low": 0x5,
            "high": 0x11,
            "pair": [0,0
            ],
            "last": "DROPPED",
            "raw": {
                "word": 16909060,
                "bytes": [4,3,2,1
                ]
            },
            "cookie": (nil),
            "seen": true,
            "note": [1,0,0,0,0,0
            ]
        }
    }
]' "$U" map dump name flows
  expect "BTF maps: dump -j adds \"formatted\"" \
    '[{"key":["0x07","0x00","0x00","0x00","0x00","0x00","0x00","0x78","0x00","0x00","0x00","0x00"],"value":["0x65","0x00","0x00","0x00","0x00","0x00","0x00","0x00","0xfb","0xff","0xff","0xff","0x8d","0x00","0x00","0x00","0x00","0x00","0x00","0x00","0x00","0x00","0x00","0x00","0x02","0x00","0x00","0x00","0x04","0x03","0x02","0x01","0x00","0x00","0x00","0x00","0x00","0x00","0x00","0x00","0x01","0x01","0x00","0x00","0x00","0x00","0x00","0x00"],"formatted":{"key":{"saddr":7,"port":0,"proto":0,"tag":"x"},"value":{"packets":101,"delta":-5,"low":"0x5","high":"0x11","pair":[0,0],"last":"DROPPED","raw":{"word":16909060,"bytes":[4,3,2,1]},"cookie":0,"seen":true,"note":[1,0,0,0,0,0]}}}]' \
    "$U" -j map dump name flows
  expect "BTF maps: lookup prints the one element" '{
    "key": {
        "saddr": 7,
        "port": 0,
        "proto": 0,
        "tag": "x"
    },
    "value": {
        "packets": 101,
        "delta": -5,
        "low": 0x5,
        "high": 0x11,
        "pair": [0,0
        ],
        "last": "DROPPED",
        "raw": {
            "word": 16909060,
            "bytes": [4,3,2,1
            ]
        },
        "cookie": (nil),
        "seen": true,
        "note": [1,0,0,0,0,0
        ]
    }
}' "$U" map lookup name flows key 7 0 0 0 0 0 0 0x78 0 0 0 0
  expect "BTF maps: .rodata variables by name" '[{
        "value": {
            ".rodata": [{
                    "limit": 7
                },{
                    "greeting": "hello"
                }
            ]
        }
    }
]' "$U" map dump name btf.rodata
  expect "BTF maps: .bss -j" \
    '[{"key":["0x00","0x00","0x00","0x00"],"value":["0x02","0x00","0x00","0x00","0x00","0x00","0x00","0x00"],"formatted":{"value":{".bss":[{"total":2}]}}}]' \
    "$U" -j map dump name btf.bss
  expect "BTF maps: .data lookup -j" \
    '{"key":["0x00","0x00","0x00","0x00"],"value":["0x04","0x00","0x00","0x00"],"formatted":{"value":{".data":[{"counter":4}]}}}' \
    "$U" -j map lookup name btf.data key 0 0 0 0
  # Per-CPU: one value per possible CPU, by type.
  expect "BTF maps: per-CPU update" "" "$U" map update name per_cpu key 1 0 0 0 value 0xfe 0xff
  local want_plain='{
    "key": 1,
    "values": [' want_json='' cpu
  for ((cpu = 0; cpu < ncpus; cpu++)); do
    [ "$cpu" -gt 0 ] && want_plain+=','
    want_plain+='{
            "cpu": '"$cpu"',
            "value": -2
        }'
    want_json+="${want_json:+,}{\"cpu\":$cpu,\"value\":[\"0xfe\",\"0xff\"]}"
  done
  want_plain+='
    ]
}'
  expect "BTF maps: per-CPU lookup" "$want_plain" "$U" map lookup name per_cpu key 1 0 0 0
  expect "BTF maps: per-CPU lookup -j" \
    "{\"key\":[\"0x01\",\"0x00\",\"0x00\",\"0x00\"],\"values\":[$want_json],\"formatted\":$("$U" map lookup name per_cpu key 1 0 0 0 | tr -d ' \n')}" \
    "$U" -j map lookup name per_cpu key 1 0 0 0
  # prog dump xlated: the function's prototype and the C source lines from
  # the program's BTF (func_info, line_info) before their instructions.
  expect "BTF prog: dump xlated starts with the prototype and the first line" \
    $'int count(struct xdp_md * ctx):\n; int count(struct xdp_md *ctx) {' \
    bash -c "'$U' prog dump xlated pinned /sys/fs/bpf/t_btf | head -n 2"
  # (sorted: their order is clang's)
  expect "BTF prog: every source line is there" $'; return XDP_PASS;\n; s.delta = -5;\n; s.last = DROPPED;' \
    bash -c "'$U' prog dump xlated pinned /sys/fs/bpf/t_btf | grep -E '^; (s.delta|s.last|return)' | LC_ALL=C sort"
  expect_shape "BTF prog: a line goes before its instruction" 0 $'; total += N;\n  N: (N) rN = map[id:N][N]+N' \
    bash -c "'$U' prog dump xlated pinned /sys/fs/bpf/t_btf | grep -A1 '^; total'"
  expect_shape "BTF prog: a called function gets its prototype too" 0 $'int bump(int value):\n; static __attribute__((noinline)) int bump(int value) { return value + N; }' \
    bash -c "'$U' prog dump xlated pinned /sys/fs/bpf/t_btf | grep -A1 '^int bump'"
  expect "BTF prog: dump xlated -j keeps proto and src" \
    '[{"proto":"int count(struct xdp_md * ctx)","src":"int count(struct xdp_md *ctx) {","disasm":' \
    bash -c "'$U' -j prog dump xlated pinned /sys/fs/bpf/t_btf | grep -o '^\[{\"proto\":[^,]*,\"src\":[^,]*,\"disasm\":'"
  expect "BTF prog: maps named by id, as the kernel's dump" "$("$U" -j prog show pinned /sys/fs/bpf/t_btf | sed -n 's/.*"map_ids":\[\([0-9,]*\)\].*/\1/p' | tr , '\n' | sort -n | tr '\n' ' ')" \
    bash -c "'$U' prog dump xlated pinned /sys/fs/bpf/t_btf | grep -o 'map\[id:[0-9]*' | cut -d: -f2 | sort -nu | tr '\n' ' '"
  expect "BTF prog: raw instructions have no annotations" $'   0: (b7) r0 = 0\n   1: (95) exit' \
    bash -c "printf 'b7 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00' >'$SCRATCH/plain.hex'; '$U' prog dump xlated file '$SCRATCH/plain.hex'"
  # Maps without BTF keep the hex layout.
  "$U" map create /sys/fs/bpf/t_nobtf type array key 4 value 4 entries 1 >/dev/null
  expect "BTF maps: a map without BTF still prints hex" $'key: 00 00 00 00  value: 00 00 00 00\nFound 1 element' \
    "$U" map dump pinned /sys/fs/bpf/t_nobtf
  rm "$USERBPF_FS/t_nobtf" "$USERBPF_FS/t_btf"
  expect "BTF maps: nothing left" "[]" "$U" -j map show
}

# Same commands through bpftool (kernel) and userbpf: the same bytes out.
diff_tests() {
  if [ "$(id -u)" -ne 0 ] || ! command -v bpftool >/dev/null ||
     ! bpftool map create "${KPIN}_probe" type array key 4 value 4 entries 1 name probe >/dev/null 2>&1; then
    echo "SKIP: the kernel's bpf() or bpftool is not available here"
    exit 77
  fi
  rm -f "${KPIN}_probe"

  # compare NAME ARGS...: `bpftool ARGS` (kernel, pins $KPIN_*) vs `userbpf ARGS` (pins /sys/fs/bpf/u_*).
  compare() {
    local name=$1; shift
    local kargs=() uargs=() a
    for a in "$@"; do kargs+=("${a//@/${KPIN}_}"); uargs+=("${a//@//sys/fs/bpf/u_}"); done
    local k u krc urc
    k=$(bpftool "${kargs[@]}" 2>/dev/null); krc=$?
    u=$("$U" "${uargs[@]}" 2>/dev/null); urc=$?
    if [ $krc -ne 0 ] && [ $urc -ne 0 ]; then pass; return; fi # both refuse (messages differ)
    if [ $krc -ne 0 ] || [ $urc -ne 0 ]; then fail "$name: bpftool exit $krc, userbpf exit $urc"; return; fi
    if [ "$k" != "$u" ]; then
      fail "$name: outputs differ"
      diff <(echo "$k") <(echo "$u") | sed 's/^/    /'
      return
    fi
    pass
  }

  compare "create array" map create @arr type array key 4 value 8 entries 4 name d_arr
  compare "create percpu_array" map create @pcpu type percpu_array key 4 value 13 entries 3 name d_pcpu
  compare "update" map update pinned @arr key 1 0 0 0 value 0x2a 0 0 0 0 0 0 1
  compare "update hex" map update pinned @arr key hex 03 00 00 00 value hex de ad be ef 00 00 00 00 exist
  compare "update past the end" map update pinned @arr key 4 0 0 0 value 0 0 0 0 0 0 0 0
  compare "update noexist" map update pinned @arr key 1 0 0 0 value 0 0 0 0 0 0 0 0 noexist
  compare "delete on array" map delete pinned @arr key 1 0 0 0
  compare "dump" map dump pinned @arr
  compare "dump -j" -j map dump pinned @arr
  compare "lookup -j" -j map lookup pinned @arr key 3 0 0 0
  compare "lookup" map lookup pinned @arr key 3 0 0 0
  compare "getnext -j" -j map getnext pinned @arr key 1 0 0 0
  compare "getnext -j, first" -j map getnext pinned @arr
  compare "getnext past the last" map getnext pinned @arr key 3 0 0 0
  compare "percpu update (13-byte values)" map update pinned @pcpu key 2 0 0 0 value 1 2 3 4 5 6 7 8 9 10 11 12 13
  compare "percpu dump" map dump pinned @pcpu
  compare "percpu dump -j" -j map dump pinned @pcpu
  compare "percpu lookup" map lookup pinned @pcpu key 2 0 0 0
  compare "create wide array" map create @wide type array key 4 value 40 entries 2 name d_wide
  compare "update wide" map update pinned @wide key 1 0 0 0 value $(seq 1 40)
  compare "dump wide" map dump pinned @wide
  compare "create wide percpu" map create @wpcpu type percpu_array key 4 value 20 entries 1 name d_wpcpu
  compare "update wide percpu" map update pinned @wpcpu key 0 0 0 0 value hex $(seq -f %02g 1 20)
  compare "dump wide percpu" map dump pinned @wpcpu
  # Hash maps with one element, so bucket order does not matter.
  compare "create hash (12-byte keys)" map create @hash type hash key 12 value 16 entries 1 name d_hash
  compare "hash update" map update pinned @hash key $(seq 1 12) value $(seq 21 36) noexist
  compare "hash full" map update pinned @hash key $(seq 2 13) value $(seq 21 36)
  compare "hash exist on a missing key" map update pinned @hash key $(seq 3 14) value $(seq 21 36) exist
  compare "hash dump (key and value on lines of their own)" map dump pinned @hash
  compare "hash getnext of a missing key" -j map getnext pinned @hash key $(seq 3 14)
  compare "hash lookup -j" -j map lookup pinned @hash key $(seq 1 12)
  compare "create percpu_hash" map create @phash type percpu_hash key 4 value 4 entries 4 name d_phash
  compare "percpu_hash update" map update pinned @phash key 7 0 0 0 value 1 2 3 4
  compare "percpu_hash dump -j" -j map dump pinned @phash
  compare "percpu_hash delete" map delete pinned @phash key 7 0 0 0
  compare "percpu_hash delete again" map delete pinned @phash key 7 0 0 0
  compare "percpu_hash dump, empty" map dump pinned @phash
  compare "create queue" map create @queue type queue key 0 value 4 entries 2 name d_queue
  compare "queue push" map push pinned @queue value 1 0 0 0
  compare "queue enqueue" map enqueue pinned @queue value 2 0 0 0
  compare "queue full" map push pinned @queue value 3 0 0 0
  compare "queue peek" map peek pinned @queue
  compare "queue peek -j" -j map peek pinned @queue
  compare "queue pop" map pop pinned @queue
  compare "queue dequeue -j" -j map dequeue pinned @queue
  compare "queue pop, empty" map pop pinned @queue
  compare "create stack" map create @stack type stack key 0 value 8 entries 2 name d_stack
  compare "stack push" map push pinned @stack value 1 0 0 0 0 0 0 0
  compare "stack push 2" map push pinned @stack value 2 0 0 0 0 0 0 0
  compare "stack pop" map pop pinned @stack
  compare "freeze" map freeze pinned @arr
  compare "update after freeze" map update pinned @arr key 1 0 0 0 value 0 0 0 0 0 0 0 0
  btf_diff_tests
}

# map_id_named TOOL PIN NAME: the id of the map called NAME that the program
# pinned at PIN uses (names alone are not unique on a shared kernel).
map_id_named() {
  local tool=$1 pin=$2 name=$3 id
  for id in $("$tool" -j prog show pinned "$pin" | sed -n 's/.*"map_ids":\[\([0-9,]*\)\].*/\1/p' | tr , ' '); do
    if "$tool" -j map show id "$id" | grep -q "\"name\":\"$name\""; then echo "$id"; return; fi
  done
}

# The same object with BTF loaded by bpftool into the kernel and by userbpf,
# run once on the same packet: its maps print the same, plain and -j.
btf_diff_tests() {
  local out
  if ! out=$(compile_btf_object "$SCRATCH" 2>&1); then
    echo "SKIP: BTF map comparisons: $out"
    return
  fi
  local kprog=${KPIN}_btf uprog=/sys/fs/bpf/u_btf packet="$SCRATCH/packet"
  head -c 64 /dev/zero >"$packet"
  if ! out=$(bpftool prog load "$SCRATCH/btf.o" "$kprog" 2>&1); then fail "BTF diff: bpftool prog load: $out"; return; fi
  if ! out=$("$U" prog load "$SCRATCH/btf.o" "$uprog" 2>&1); then fail "BTF diff: userbpf prog load: $out"; return; fi
  bpftool prog run pinned "$kprog" data_in "$packet" >/dev/null 2>&1 || fail "BTF diff: bpftool prog run"
  "$U" prog run pinned "$uprog" data_in "$packet" >/dev/null 2>&1 || fail "BTF diff: userbpf prog run"
  local name kid uid k u args
  for name in flows per_cpu btf.rodata btf.data btf.bss; do
    kid=$(map_id_named bpftool "$kprog" "$name"); uid=$(map_id_named "$U" "$uprog" "$name")
    if [ -z "$kid" ] || [ -z "$uid" ]; then fail "BTF diff: map $name: kernel id '$kid', userbpf id '$uid'"; continue; fi
    # The program ran on whichever CPU: give every CPU the same value first.
    if [ "$name" = per_cpu ]; then
      bpftool map update id "$kid" key 0 0 0 0 value 0xfe 0xff >/dev/null
      "$U" map update id "$uid" key 0 0 0 0 value 0xfe 0xff >/dev/null
    fi
    for args in "map dump" "-j map dump" "map lookup" "-j map lookup"; do
      local extra=()
      [[ "$args" == *lookup ]] && { [ "$name" = flows ] && extra=(key 7 0 0 0 0 0 0 0x78 0 0 0 0) || extra=(key 0 0 0 0); }
      # shellcheck disable=SC2086
      k=$(bpftool ${args% *} ${args##* } id "$kid" "${extra[@]}" 2>&1)
      # shellcheck disable=SC2086
      u=$("$U" ${args% *} ${args##* } id "$uid" "${extra[@]}" 2>&1)
      if [ "$k" != "$u" ]; then
        fail "BTF diff: $args $name: outputs differ"
        diff <(echo "$k") <(echo "$u") | sed 's/^/    /'
      else
        pass
      fi
    done
  done
  # An empty map with BTF: "[]", as bpftool.
  kid=$(map_id_named bpftool "$kprog" flows); uid=$(map_id_named "$U" "$uprog" flows)
  bpftool map delete id "$kid" key 7 0 0 0 0 0 0 0x78 0 0 0 0 && "$U" map delete id "$uid" key 7 0 0 0 0 0 0 0x78 0 0 0 0
  k=$(bpftool map dump id "$kid" 2>&1); u=$("$U" map dump id "$uid" 2>&1)
  [ "$k" = "[]" ] && [ "$k" = "$u" ] && pass || fail "BTF diff: empty dump: bpftool '$k', userbpf '$u'"
  # dump xlated: the same prototypes and source lines in the same order (the
  # instructions differ where the kernel inlines helpers and map lookups,
  # so they and their indices are left out).
  k=$(bpftool prog dump xlated pinned "$kprog" | grep -Ev '^ *[0-9]+: ')
  u=$("$U" prog dump xlated pinned "$uprog" | grep -Ev '^ *[0-9]+: ')
  [ -n "$k" ] && [ "$k" = "$u" ] && pass || { fail "BTF diff: dump xlated annotations differ"; diff <(echo "$k") <(echo "$u") | sed 's/^/    /'; }
  local annotations='"(proto|src)":"[^"]*"'
  k=$(bpftool -j prog dump xlated pinned "$kprog" | grep -Eo "$annotations")
  u=$("$U" -j prog dump xlated pinned "$uprog" | grep -Eo "$annotations")
  [ -n "$k" ] && [ "$k" = "$u" ] && pass || { fail "BTF diff: dump xlated -j annotations differ"; diff <(echo "$k") <(echo "$u") | sed 's/^/    /'; }
  rm -f "$kprog" "$USERBPF_FS/u_btf"
}

case "$MODE" in
  unit) unit_tests ;;
  diff) diff_tests ;;
  *) echo "unknown mode $MODE" >&2; exit 2 ;;
esac
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
