#!/usr/bin/env bash
# Measures what the firmware costs in flash, RAM and stack: the numbers of
# the README's "On a microcontroller" section.
#
#   bash embedded/footprint.sh           # build, run under QEMU, print the tables
#   bash embedded/footprint.sh --check   # ... and fail unless the targets are met
#
# Sizes come from llvm-size (Berkeley: text = vector table + code + constants,
# data, bss) on the silent builds, whose only output is the semihosting exit
# status. The stack high-water mark comes from the same builds with the
# `report-stack` feature, which prints it after the work: the script checks
# that every function of the silent build is, instruction for instruction,
# the same in the reporting one. The flash breakdown sums symbol sizes from
# llvm-nm. Needs qemu-system-arm and llvm-tools (rustup component add
# llvm-tools; LLVM's own tools on the PATH also do).
set -euo pipefail
cd "$(dirname "$0")"

check=false
[ "${1:-}" = "--check" ] && check=true

# rustup's llvm-tools, or else LLVM's tools on the PATH.
host=$(rustc -vV | sed -n 's/^host: //p')
tools="$(rustc --print sysroot)/lib/rustlib/$host/bin"
if [ ! -x "$tools/llvm-objdump" ]; then
    tools=$(dirname "$(command -v llvm-objdump || echo /nonexistent/llvm-objdump)")
fi
for t in llvm-size llvm-nm llvm-objdump; do
    [ -x "$tools/$t" ] || { echo "error: $t missing: rustup component add llvm-tools" >&2; exit 1; }
done
elf=${CARGO_TARGET_DIR:-target}/thumbv7em-none-eabihf/release
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "error: $*" >&2; exit 1; }
qemu() {
    timeout 300 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
        -semihosting-config enable=on,target=native -kernel "$1" </dev/null
}
silent="baseline sine digits train"

# One line per function of ELF $1: its name, a tab, and its instructions
# (only those within its symbol's size) with addresses, offsets and symbol
# hashes removed, joined by ';'; sorted.
functions() {
    # (mawk, Debian's awk, has no {16} in regular expressions.)
    local h16="::h$(printf '[0-9a-f]%.0s' {1..16})"
    awk -v h16="$h16" '
        function hex(s,   i, n) { n = 0; s = tolower(s)
            for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return n }
        function flush() { if (name != "") print name "\t" body; name = "" }
        NR == FNR { if (NF >= 4 && $3 ~ /^[Tt]$/) end[hex($1)] = hex($1) + hex($2); next }
        /^[0-9a-f]+ <.*>:$/ { flush(); start = hex($1); if (!(start in end)) next
                               name = $0; sub(/^[0-9a-f]+ </, "", name); sub(/>:$/, "", name)
                               gsub(h16, "", name); body = ""; next }
        /^$/ { flush(); next }
        name != "" { split($1, a, ":"); if (hex(a[1]) >= end[start]) next
                     line = $0; sub(/^ *[0-9a-f]+:[ \t]*/, "", line); sub(/@.*/, "", line)
                     gsub(h16, "", line); gsub(/0x[0-9a-f]+/, "", line)
                     gsub(/#-?[0-9]+/, "", line); body = body line ";" }
        END { flush() }' \
        <("$tools/llvm-nm" --print-size -C "$1") \
        <("$tools/llvm-objdump" -d --no-show-raw-insn -C "$1") | LC_ALL=C sort
}

# 1. The stack high-water marks, from the reporting builds.
cargo build --release --bins --features report-stack --quiet
declare -A stack
for b in $silent; do
    out=$(qemu "$elf/$b") || fail "$b (report-stack) failed under QEMU: $out"
    stack[$b]=$(sed -n 's/^stack high-water mark: \([0-9]*\) bytes$/\1/p' <<<"$out")
    [ -n "${stack[$b]}" ] || fail "$b printed no stack high-water mark: $out"
    functions "$elf/$b" >"$tmp/$b.report"
done

# 2. The silent builds: they must pass and print nothing.
cargo build --release --bins --quiet
for b in $silent; do
    out=$(qemu "$elf/$b") || fail "$b failed under QEMU"
    [ -z "$out" ] || fail "$b printed something: $out"
    functions "$elf/$b" >"$tmp/$b.silent"
    # Functions of the silent build not found, identical, in the reporting
    # one; finish() differs by design, and the fault handlers never run in a
    # passing run.
    differ=$(LC_ALL=C comm -23 "$tmp/$b.silent" "$tmp/$b.report" | cut -f 1 |
        grep -Ev '^(staticnet_firmware::finish|HardFault|DefaultHandler)$' || true)
    [ -z "$differ" ] || fail "$b: these functions differ between the silent and the reporting build: $differ"
done
out=$(qemu "$elf/demo") || fail "demo failed under QEMU"
stack[demo]=$(sed -n 's/^stack high-water mark: \([0-9]*\) bytes$/\1/p' <<<"$out")

# 3. The tables.
declare -A flash ram weights
echo "| build | flash (text + data) | static RAM (data + bss) | stack high-water | RAM + stack |"
echo "|---|---:|---:|---:|---:|"
for b in $silent demo; do
    read -r text data bss < <("$tools/llvm-size" "$elf/$b" | awk 'NR == 2 { print $1, $2, $3 }')
    flash[$b]=$((text + data))
    ram[$b]=$((data + bss))
    echo "| $b | ${flash[$b]} | ${ram[$b]} | ${stack[$b]} | $((ram[$b] + stack[$b])) |"
done

echo
echo "Flash by origin, bytes (llvm-nm symbol sizes; 'other' is alignment and what no symbol covers):"
echo
echo "| build | weights | staticnet code | compiler intrinsics | test data and checks | runtime | printing | other |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for b in $silent demo; do
    row=$("$tools/llvm-nm" --print-size --radix=d -C "$elf/$b" | awk -v total="${flash[$b]}" '
        NF >= 4 && $3 ~ /^[TtRrDd]$/ {
            size = $2 + 0; name = $4; for (i = 5; i <= NF; i++) name = name " " $i
            if (name ~ /generated::[a-z]+::NET::/) c = "weights"
            else if (name ~ /generated::/) c = "data"
            else if (name ~ /staticnet_firmware::(digit_logits|sine|train_xor)::/ ||
                     name ~ /^<?_?\$?(LT\$)?(staticnet|nalgebra|rand|libm)(::|\.\.)/) c = "library"
            else if (name ~ /^compiler_builtins::|^__aeabi_|^f(max|min)f?$/) c = "intrinsics"
            else if (name ~ /core::fmt|core::num::|fmt::Display|fmt::Debug|^\.Lanon|cortex_m_semihosting::export|hio::/) c = "printing"
            else if (name ~ /__cortex_m_rt_main|^staticnet_firmware::/) c = "data"
            else c = "runtime"
            sum[c] += size; all += size
        }
        END { printf "%d %d %d %d %d %d %d", sum["weights"], sum["library"], sum["intrinsics"],
                     sum["data"], sum["runtime"], sum["printing"], total - all }')
    read -r w l i d r p o <<<"$row"
    weights[$b]=$w
    echo "| $b | $w | $l | $i | $d | $r | $p | $o |"
done

if $check; then
    echo
    fails=0
    target() { # description, value, limit
        if [ "$2" -lt "$3" ]; then echo "ok: $1: $2 < $3"; else echo "FAILED: $1: $2 >= $3"; fails=$((fails + 1)); fi
    }
    target "sine: flash" "${flash[sine]}" 8192
    target "sine: RAM + stack" "$((ram[sine] + stack[sine]))" 1024
    target "digits: flash beyond the weights" "$((flash[digits] - weights[digits]))" 8192
    [ "$fails" -eq 0 ] || fail "$fails footprint targets missed"
fi
