#!/usr/bin/env bash
# tests/firmware/size.sh SIZE KERNEL.o TARGET.yaml: the size report of the
# kernel's ARM build.  Its code and constants (text) must fit a core's
# ITCM; its writable data (data + bss) must fit the kernel data that
# partition reserves in DTCM (8 KiB, docs/mapping.md), beside the stack,
# DMA buffers and queues of the full firmware.  The ITCM size is the
# target's (the built-in spinn targets: 32 KiB).
set -euo pipefail
size=$1 kernel=$2 target=$3
itcm_kib=$(sed -nE 's/^ *itcm: *([0-9]+) *KiB.*/\1/p' "$target")
[ -n "$itcm_kib" ] || { echo "size.sh: no 'itcm: N KiB' in $target"; exit 1; }
read -r text data bss _ < <("$size" "$kernel" | tail -n 1)
itcm=$((itcm_kib * 1024))
kernel_data=8192
echo "ARM968 kernel (firmware/core.c, -Os): text $text bytes of $itcm ITCM ($((100 * text / itcm))%)," \
     "data $data + bss $bss bytes of the $kernel_data bytes of kernel data in DTCM"
fail=0
[ "$text" -le "$itcm" ] || { echo "FAIL: the kernel's code does not fit ITCM"; fail=1; }
[ $((data + bss)) -le "$kernel_data" ] || { echo "FAIL: the kernel's data does not fit its DTCM share"; fail=1; }
exit $fail
