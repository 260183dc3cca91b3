#!/bin/sh
# tests/rtl/lint.sh RTL_DIR: Verilator's lint with every warning on, over the
# sdt accelerator at its default parameters and at the test model's; any
# warning fails.
set -eu
dir=$1
srcs="$dir/sdt_top.v $dir/sdt_core.v $dir/sdt_nlane.v $dir/sdt_sram.v"
for params in "" "-GLANES=4 -GPMEM_LOG2=10 -GWMEM_LOG2=12 -GQMEM_LOG2=8 -GDMEM_LOG2=12 -GEVT_LOG2=12 -GFIFO_LOG2=4" \
              "-GLANES=8"; do
    # shellcheck disable=SC2086
    verilator --lint-only -Wall --top-module sdt_top $params $srcs
done
echo "lint: clean"
