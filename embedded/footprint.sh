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
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "error: $*" >&2; exit 1; }
# The two boards: a Cortex-M4F (mps2-an386) and a Cortex-M0 (microbit: no
# FPU, no DSP), as embedded/.cargo/config.toml runs them.
m4f=thumbv7em-none-eabihf
m0=thumbv6m-none-eabi
qemu() { # target, ELF
    local board="-cpu cortex-m4 -machine mps2-an386"
    [ "$1" = "$m0" ] && board="-cpu cortex-m0 -machine microbit"
    # shellcheck disable=SC2086
    timeout 300 qemu-system-arm $board -nographic \
        -semihosting-config enable=on,target=native -kernel "$2" </dev/null
}
# The silent builds measured on each board (the f32 training one needs more
# than the microbit's 16 KiB of RAM... and is measured on the M4F only, as
# are the sequence models: BasicMotions' activations alone outgrow it).
declare -A silent=([$m4f]="baseline sine digits digits_int8 train basicmotions sunspots" [$m0]="baseline sine digits digits_int8")

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
                     # A literal pool entry: an address, which moves with the data.
                     if (line ~ /\.(word|short)/) line = ".word"
                     sub(/[ \t]+$/, "", line) # padding that depends on the address width
                     gsub(h16, "", line); gsub(/0x[0-9a-f]+/, "", line)
                     gsub(/#-?[0-9]+/, "", line); body = body line ";" }
        END { flush() }' \
        <("$tools/llvm-nm" --print-size -C "$1") \
        <("$tools/llvm-objdump" -d --no-show-raw-insn -C "$1") | LC_ALL=C sort
}

declare -A stack flash ram weights
# 1. and 2. for one target: the stack high-water marks from the reporting
# builds, then the silent builds, which must pass, print nothing, and be
# the reporting ones function for function.
measure() {
    local target=$1 elf=${CARGO_TARGET_DIR:-target}/$1/release b out differ
    cargo build --release --target "$target" --bins --features report-stack --quiet
    for b in ${silent[$target]}; do
        out=$(qemu "$target" "$elf/$b") || fail "$b (report-stack, $target) failed under QEMU: $out"
        stack[$target/$b]=$(sed -n 's/^stack high-water mark: \([0-9]*\) bytes$/\1/p' <<<"$out")
        [ -n "${stack[$target/$b]}" ] || fail "$b ($target) printed no stack high-water mark: $out"
        functions "$elf/$b" >"$tmp/$b.report"
    done
    cargo build --release --target "$target" --bins --quiet
    for b in ${silent[$target]}; do
        out=$(qemu "$target" "$elf/$b") || fail "$b ($target) failed under QEMU"
        [ -z "$out" ] || fail "$b ($target) printed something: $out"
        functions "$elf/$b" >"$tmp/$b.silent"
        # Functions of the silent build not found, identical, in the reporting
        # one; finish() differs by design, and the fault handlers never run in a
        # passing run.
        differ=$(LC_ALL=C comm -23 "$tmp/$b.silent" "$tmp/$b.report" | cut -f 1 |
            grep -Ev '^(staticnet_firmware::finish|HardFault|DefaultHandler)$' || true)
        [ -z "$differ" ] || fail "$b ($target): these functions differ between the silent and the reporting build: $differ"
    done
}
measure $m4f
out=$(qemu $m4f "${CARGO_TARGET_DIR:-target}/$m4f/release/demo") || fail "demo failed under QEMU"
stack[$m4f/demo]=$(sed -n 's/^stack high-water mark: \([0-9]*\) bytes$/\1/p' <<<"$out")
measure $m0

# 3. The tables.
rows() { # target, builds
    local b
    for b in $2; do echo "$1 $b"; done
}
all="$(rows $m4f "${silent[$m4f]} demo"; rows $m0 "${silent[$m0]}")"
echo "| board | build | flash (text + data) | static RAM (data + bss) | stack high-water | RAM + stack |"
echo "|---|---|---:|---:|---:|---:|"
while read -r target b; do
    elf=${CARGO_TARGET_DIR:-target}/$target/release
    read -r text data bss < <("$tools/llvm-size" "$elf/$b" | awk 'NR == 2 { print $1, $2, $3 }')
    flash[$target/$b]=$((text + data))
    ram[$target/$b]=$((data + bss))
    board=M4F
    [ "$target" = "$m0" ] && board=M0
    echo "| $board | $b | ${flash[$target/$b]} | ${ram[$target/$b]} | ${stack[$target/$b]} | $((ram[$target/$b] + stack[$target/$b])) |"
done <<<"$all"

echo
echo "Flash by origin, bytes (llvm-nm symbol sizes; 'other' is alignment and what no symbol covers):"
echo
echo "| board | build | weights | staticnet code | compiler intrinsics | test data and checks | runtime | printing | other |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
while read -r target b; do
    elf=${CARGO_TARGET_DIR:-target}/$target/release
    row=$("$tools/llvm-nm" --print-size --radix=d -C "$elf/$b" | awk -v total="${flash[$target/$b]}" '
        NF >= 4 && $3 ~ /^[TtRrDd]$/ {
            size = $2 + 0; name = $4; for (i = 5; i <= NF; i++) name = name " " $i
            if (name ~ /generated::[a-z0-9_]+::(NET|STREAM|HEAD)::/) c = "weights"
            else if (name ~ /generated::/) c = "data"
            else if (name ~ /staticnet_firmware::(digit_logits|digit_int8|sine|train_xor|motion_logits|sunspot_step|sunspot_head)::/ ||
                     name ~ /^<?_?\$?(LT\$)?(staticnet|nalgebra|rand|libm)(::|\.\.)/) c = "library"
            else if (name ~ /^compiler_builtins::|^__aeabi_|^__a?e?a?b?i?_?[a-z]+[sd]f[0-9]|^f(max|min)f?$/) c = "intrinsics"
            else if (name ~ /core::fmt|core::num::|fmt::Display|fmt::Debug|^\.Lanon|cortex_m_semihosting::export|hio::/) c = "printing"
            else if (name ~ /__cortex_m_rt_main|^staticnet_firmware::/) c = "data"
            else c = "runtime"
            sum[c] += size; all += size
        }
        END { printf "%d %d %d %d %d %d %d", sum["weights"], sum["library"], sum["intrinsics"],
                     sum["data"], sum["runtime"], sum["printing"], total - all }')
    read -r w l i d r p o <<<"$row"
    weights[$target/$b]=$w
    board=M4F
    [ "$target" = "$m0" ] && board=M0
    echo "| $board | $b | $w | $l | $i | $d | $r | $p | $o |"
done <<<"$all"

if $check; then
    echo
    fails=0
    target() { # description, value, limit
        if [ "$2" -lt "$3" ]; then echo "ok: $1: $2 < $3"; else echo "FAILED: $1: $2 >= $3"; fails=$((fails + 1)); fi
    }
    target "sine: flash" "${flash[$m4f/sine]}" 8192
    target "sine: RAM + stack" "$((ram[$m4f/sine] + stack[$m4f/sine]))" 1024
    target "digits: flash beyond the weights" "$((flash[$m4f/digits] - weights[$m4f/digits]))" 8192
    # The int8 digits firmware: at most its weights plus 6 KiB (test data
    # and checks included), on the M4F and on the M0.
    target "digits_int8 (M4F): flash beyond the weights" "$((flash[$m4f/digits_int8] - weights[$m4f/digits_int8]))" 6145
    target "digits_int8 (M0): flash beyond the weights" "$((flash[$m0/digits_int8] - weights[$m0/digits_int8]))" 6145
    [ "$fails" -eq 0 ] || fail "$fails footprint targets missed"
fi
