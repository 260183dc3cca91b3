#!/bin/sh
# tests/rtl/synth.sh RTL_DIR: yosys synthesis of the sdt accelerator.
#  1. sdt_sram alone: it must be inferred as a memory (a $mem cell that a
#     RAM library or SRAM macro replaces), with no latch.
#  2. sdt_top at small parameters (4 lanes, small memories), the SRAMs kept
#     as black boxes (the macros of a real flow): no latch; the cell count
#     of the logic printed.
set -eu
dir=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
yosys -q -l "$out/sram.log" -p "
read_verilog $dir/sdt_sram.v
chparam -set W 128 -set AW 6 sdt_sram
synth -top sdt_sram -run :fine
select -assert-min 4 t:\$mem_v2
select -assert-none t:\$dlatch t:\$adlatch t:\$dlatchsr t:\$_DLATCH_* t:\$_DLATCHSR_*
"
echo "synth: sdt_sram is 4 memories of 32 bits, no latches"
yosys -q -l "$out/synth.log" -p "
read_verilog -lib $dir/sdt_sram.v
read_verilog $dir/sdt_nlane.v $dir/sdt_core.v $dir/sdt_top.v
chparam -set LANES 4 -set PMEM_LOG2 10 -set WMEM_LOG2 12 -set QMEM_LOG2 8 -set DMEM_LOG2 12 -set EVT_LOG2 12 -set FIFO_LOG2 4 sdt_top
synth -top sdt_top -flatten
select -assert-none t:\$dlatch t:\$adlatch t:\$dlatchsr t:\$_DLATCH_* t:\$_DLATCHSR_*
select -assert-count 5 t:sdt_sram
tee -o $out/stat.txt stat
"
grep -E "Number of cells" "$out/stat.txt" | tail -1
echo "synth: sdt_top (LANES 4, memories as macros): no latches"
