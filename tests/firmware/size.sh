#!/usr/bin/env bash
# tests/firmware/size.sh SIZE KERNEL.o TARGET.yaml [MONITOR.o MONITOR_STATE.o]:
# the size report of the firmware's ARM build.
#
# The kernel (every application core): its code and constants (text)
# must fit a core's ITCM; its writable data (data + bss) must fit the
# kernel data that partition reserves in DTCM (8 KiB, docs/mapping.md),
# beside the stack, DMA buffers and queues of the full firmware.
#
# The monitor (one core per chip, docs/monitor.md): its code and the
# kernel's it calls (the whole kernel object, counted as it is) must fit
# its ITCM; its data, its state (struct snn_monitor, MONITOR_STATE.o's
# bss) and its two message buffers (a request and a response of
# SNN_MON_MAX_WORDS words) must fit its DTCM less 8 KiB kept for the
# stack and the board's start-up code.  The monitor may need nothing
# from outside but the kernel, memset and memcpy (no libgcc division).
#
# The ITCM and DTCM sizes are the target's (the built-in spinn targets:
# 32 and 64 KiB).
set -euo pipefail
size=$1 kernel=$2 target=$3 monitor=${4:-} monitor_state=${5:-}
kib() {
  local v
  v=$(sed -nE "s/^ *$1: *([0-9]+) *KiB.*/\\1/p" "$target")
  [ -n "$v" ] || { echo "size.sh: no '$1: N KiB' in $target" >&2; exit 1; }
  echo $((v * 1024))
}
itcm=$(kib itcm)
dtcm=$(kib dtcm)
read -r text data bss _ < <("$size" "$kernel" | tail -n 1)
kernel_data=8192
echo "ARM968 kernel (firmware/core.c, -Os): text $text bytes of $itcm ITCM ($((100 * text / itcm))%)," \
     "data $data + bss $bss bytes of the $kernel_data bytes of kernel data in DTCM"
fail=0
[ "$text" -le "$itcm" ] || { echo "FAIL: the kernel's code does not fit ITCM"; fail=1; }
[ $((data + bss)) -le "$kernel_data" ] || { echo "FAIL: the kernel's data does not fit its DTCM share"; fail=1; }

if [ -n "$monitor" ]; then
  read -r mtext mdata mbss _ < <("$size" "$monitor" | tail -n 1)
  read -r _ _ state _ < <("$size" "$monitor_state" | tail -n 1)
  buffers=$((2 * (8 + 256) * 4)) # SNN_MON_MAX_WORDS words each way
  reserve=8192
  code=$((mtext + text))
  ram=$((mdata + mbss + data + bss + state + buffers))
  echo "ARM968 monitor (firmware/monitor.c, -Os): text $mtext + kernel $text = $code bytes of" \
       "$itcm ITCM ($((100 * code / itcm))%); data $((mdata + data)) + bss $((mbss + bss))" \
       "+ state $state + buffers $buffers = $ram bytes of the $((dtcm - reserve)) bytes of DTCM" \
       "left beside the stack ($((100 * ram / (dtcm - reserve)))%)"
  [ "$code" -le "$itcm" ] || { echo "FAIL: the monitor's code does not fit ITCM"; fail=1; }
  [ "$ram" -le $((dtcm - reserve)) ] || { echo "FAIL: the monitor's data does not fit DTCM"; fail=1; }
  nm=${size%size}nm
  extra=$("$nm" -u "$monitor" | awk '{print $2}' | grep -Ev '^(snn_core_[a-z_]+|memset|memcpy)$' || true)
  [ -z "$extra" ] || { echo "FAIL: the monitor needs" $extra; fail=1; }
fi
exit $fail
