#!/usr/bin/env bash
# tests/cli/install.sh SNNC SRCDIR: `cmake --install` gives a working
# snnc, the libraries, the public headers and a pkg-config file that a
# program outside the tree can build against.
set -euo pipefail
snnc=$1
build=$(cd "$(dirname "$snnc")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
"$tmp/prefix/bin/snnc" --version | grep -q '^snnc '
export PKG_CONFIG_PATH=$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig
pkg-config --exists snnc

cat >"$tmp/user.c" <<'C'
#include <stdio.h>
#include "frontend/frontend.h"
#include "ir/sim.h"
#include "support/err.h"

int main(void)
{
    static const char text[] =
        "snn: 1\nname: user\ntimestep: 1 ms\nduration: 10 ms\n"
        "populations:\n  p: {size: 3, model: if, params: {bias: 0.5 mV}}\n";
    struct snn_net *net;
    if (snn_yaml_parse("user.yaml", text, sizeof text - 1, NULL, &net))
        return 1;
    struct snn_sim_stats st = {0};
    uint64_t spikes[1];
    st.pop_spikes = spikes;
    struct snn_sim_opts o = {0};
    int err = snn_sim_run(net, &o, NULL, &st);
    snn_net_free(net);
    printf("%s %llu\n", snn_strerror(err), (unsigned long long)spikes[0]);
    return err != 0;
}
C
# The user's program is built with the build's compiler, and with its
# sanitizers when the libraries were built with them (-DSNN_SANITIZE=ON),
# since instrumented libraries need the sanitizers' run-time.
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
san=()
grep -q '^SNN_SANITIZE:BOOL=ON$' "$build/CMakeCache.txt" && san=(-fsanitize=address,undefined)
# shellcheck disable=SC2046
"${cc:-cc}" -std=c17 "${san[@]}" -o "$tmp/user" "$tmp/user.c" $(pkg-config --cflags --libs --static snnc)
out=$("$tmp/user")
# bias 0.5 mV per step against a 1 mV threshold: steps 1, 3, 5, 7, 9 for each of 3 neurons
[ "$out" = "success 15" ] || { echo "installed library run printed '$out'"; exit 1; }
echo "ok: installed snnc, libraries, headers and pkg-config file work"
