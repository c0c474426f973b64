#!/usr/bin/env bash
# Counts the instructions a firmware executes between two marker functions,
# under QEMU.
#
#   bash embedded/count.sh TARGET BIN BEGIN END [CARGO BUILD ARGS...]
#   bash embedded/count.sh thumbv6m-none-eabi m0_hello count_begin count_end
#
# TARGET is thumbv6m-none-eabi (QEMU's microbit, a Cortex-M0) or
# thumbv7em-none-eabihf (QEMU's mps2-an386, a Cortex-M4F); BIN a binary of
# src/bin; BEGIN and END the names of two functions the firmware calls (not
# inlined), as llvm-nm prints them or demangled, with or without the hash:
# staticnet_firmware's count_begin and count_end are made for this. Prints,
# one line per region (each call of BEGIN up to the next call of END), the
# number of instructions executed after BEGIN returned and before the
# instruction that calls END: what the firmware did in between, every
# function it called included, the markers' own instructions and the call
# to END excluded (an empty region counts 0). The firmware's own output goes
# to stderr; the script fails if the firmware fails.
#
# How: QEMU translates one guest instruction per translation block
# (-singlestep) and logs every block it executes (-d exec, with nochain so
# that no block jumps straight to the next one unlogged), so each log line
# is one instruction executed, and its PC is in the line. The log streams
# through a FIFO to awk, which counts the lines between the markers' entry
# addresses (from llvm-nm). QEMU then runs some 1-2 million instructions a
# second instead of hundreds of millions. Needs qemu-system-arm and
# llvm-tools (as footprint.sh).
set -euo pipefail
cd "$(dirname "$0")"

fail() { echo "error: $*" >&2; exit 1; }
[ $# -ge 4 ] || fail "usage: $0 TARGET BIN BEGIN END [CARGO BUILD ARGS...]"
target=$1 bin=$2 begin=$3 end=$4
shift 4
case $target in
thumbv6m-none-eabi) machine=(-cpu cortex-m0 -machine microbit) ;;
thumbv7em-none-eabihf) machine=(-cpu cortex-m4 -machine mps2-an386) ;;
*) fail "unknown target $target: thumbv6m-none-eabi or thumbv7em-none-eabihf" ;;
esac

# rustup's llvm-tools, or else LLVM's tools on the PATH.
host=$(rustc -vV | sed -n 's/^host: //p')
tools="$(rustc --print sysroot)/lib/rustlib/$host/bin"
[ -x "$tools/llvm-nm" ] || tools=$(dirname "$(command -v llvm-nm || echo /nonexistent/llvm-nm)")
[ -x "$tools/llvm-nm" ] || fail "llvm-nm missing: rustup component add llvm-tools"

cargo build --release --quiet --target "$target" --bin "$bin" "$@" >&2
elf=${CARGO_TARGET_DIR:-target}/$target/release/$bin

# The function $1's address (Thumb bit cleared) and end, as 8 hex digits
# each: QEMU's format for the PC.
symbol() {
    local found
    found=$("$tools/llvm-nm" --print-size --defined-only -C "$elf" | awk -v name="$1" '
        NF >= 4 && $3 ~ /^[Tt]$/ {
            n = $4; for (i = 5; i <= NF; i++) n = n " " $i
            plain = n; sub(/::h[0-9a-f]+$/, "", plain)
            if (n == name || plain == name) print $1, $2
        }')
    # Mangled names, as given by llvm-nm without -C.
    [ -n "$found" ] || found=$("$tools/llvm-nm" --print-size --defined-only "$elf" |
        awk -v name="$1" 'NF == 4 && $3 ~ /^[Tt]$/ && $4 == name { print $1, $2 }')
    [ -n "$found" ] || fail "no function $1 in $elf"
    [ "$(wc -l <<<"$found")" -eq 1 ] || fail "more than one function $1 in $elf"
    read -r addr size <<<"$found"
    printf '%08x %08x\n' $((0x$addr & ~1)) $(((0x$addr & ~1) + 0x$size))
}
read -r b0 b1 < <(symbol "$begin")
read -r e0 e1 < <(symbol "$end")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkfifo "$tmp/trace"
# Trace lines: "Trace 0: 0x7f... [cs_base/pc/flags/cflags] symbol", all in
# hex, the PC 8 digits wide, hence compared as strings. cflags' low 9 bits
# are the block's instruction count limit: 1 in single-step mode.
awk -v b0="$b0" -v b1="$b1" -v e0="$e0" -v e1="$e1" '
    # After an error, reads on to the end: QEMU would block on a full FIFO.
    function bad(msg) { if (!failed) print "error: " msg > "/dev/stderr"; failed = 1 }
    failed || $1 != "Trace" { next }
    {
        split($4, f, "/"); pc = f[2] ""
        if (f[4] !~ /[02468ace]01\]$/) bad("a translation block of more than one instruction: " $0)
        if (pc >= b0 && pc < b1) {
            if (pc == b0) {
                if (inside) bad("BEGIN called again before END")
                inside = 1; n = 0
            }
            next
        }
        if (pc >= e0 && pc < e1) {
            if (pc == e0) {
                if (!inside) { bad("END called before BEGIN"); next }
                print n - 1; inside = 0; regions++
            }
            next
        }
        n += inside
    }
    END {
        if (inside) bad("BEGIN called, but not END after it")
        if (!regions) bad("BEGIN never called")
        exit failed
    }' <"$tmp/trace" >"$tmp/counts" &
counter=$!
# Held open for reading and writing, so that neither awk's open nor QEMU's
# blocks, and awk sees the end of the log once QEMU and this are done.
exec 3<>"$tmp/trace"
status=0
timeout -k 10 "${COUNT_TIMEOUT:-600}" qemu-system-arm "${machine[@]}" -nographic \
    -semihosting-config enable=on,target=native \
    -singlestep -d exec,nochain -D "$tmp/trace" -kernel "$elf" </dev/null >&2 || status=$?
exec 3>&-
wait "$counter" || fail "counting the trace failed"
[ "$status" -eq 0 ] || fail "$bin failed under QEMU (status $status)"
cat "$tmp/counts"
