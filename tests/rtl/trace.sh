#!/bin/sh
# tests/rtl/trace.sh TEST_SDT_RTL WORKDIR: runs one small step of the
# verilated accelerator with an FST trace, converts it with fst2vcd and
# looks for the signals a waveform reader needs (clock, PC, status, the
# core's state and the DMEM port).
set -eu
test_bin=$1
dir=$2
fst=$dir/sdt_trace.fst
vcd=$dir/sdt_trace.vcd
rm -f "$fst" "$vcd"
SNN_SDT_TRACE=$fst "$test_bin"
fst2vcd "$fst" > "$vcd"
for sig in clk rst pc busy done error state dm_we dm_waddr rdata; do
    if ! grep -Eq "^\\\$var .* $sig(\\[| )" "$vcd"; then
        echo "trace: signal $sig missing from $vcd" >&2
        exit 1
    fi
done
# The step ran: DONE rose at some time.
if ! grep -Eq "^\\\$var .* done " "$vcd"; then exit 1; fi
echo "trace: $(grep -c '^#' "$vcd") time points, signals found"
