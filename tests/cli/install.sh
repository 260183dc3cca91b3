#!/usr/bin/env bash
# tests/cli/install.sh SNNC SRCDIR: `cmake --install` gives a working
# snnc, the libraries, the public headers and a pkg-config file that a
# program outside the tree can build against: one that simulates, and one
# that runs images through the device API (on the emulator, and on the
# RTL models when snnc has them).
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
if grep -q '^SNN_SANITIZE:BOOL=ON$' "$build/CMakeCache.txt"; then
  # shellcheck disable=SC2054 # one option, whose value has a comma
  san=(-fsanitize=address,undefined)
  # clang links the sanitizers' C++ run-time, which the RTL models need,
  # only when asked; gcc's libubsan has it.
  "${cc:-cc}" --version | grep -q clang && san+=(-fsanitize-link-c++-runtime)
fi
# shellcheck disable=SC2046
"${cc:-cc}" -std=c17 "${san[@]}" -o "$tmp/user" "$tmp/user.c" $(pkg-config --cflags --libs --static snnc)
out=$("$tmp/user")
# bias 0.5 mV per step against a 1 mV threshold: steps 1, 3, 5, 7, 9 for each of 3 neurons
[ "$out" = "success 15" ] || { echo "installed library run printed '$out'"; exit 1; }

# The device API: an image built by the installed snnc, loaded and run on
# a device by a program outside the tree, gives the spikes `snnc run` gives.
# Linking it needs every library the runtime opens, the RTL models too.
cat >"$tmp/device.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include "runtime/device.h"
#include "support/err.h"

static int count(void *ctx, uint32_t step, uint32_t pop, const uint32_t *neurons, uint32_t n)
{
    (void)step, (void)pop, (void)neurons;
    *(unsigned long *)ctx += n;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    FILE *f = fopen(argv[2], "rb");
    static unsigned char image[1 << 22];
    if (!f)
        return 2;
    size_t size = fread(image, 1, sizeof image, f);
    fclose(f);
    if (size == sizeof image)
        return 2; /* larger than this test's images */
    struct snn_device *dev;
    int err = snn_device_open(argv[1], NULL, &dev);
    unsigned long spikes = 0;
    if (!err) {
        err = snn_device_load(dev, image, size, argv[2], NULL);
        if (!err)
            err = snn_device_run(dev, (uint32_t)atoi(argv[3]), count, &spikes, NULL);
        snn_device_close(dev);
    }
    printf("%s %lu\n", snn_strerror(err), spikes);
    return err != 0;
}
C
# shellcheck disable=SC2046
"${cc:-cc}" -std=c17 "${san[@]}" -o "$tmp/device" "$tmp/device.c" $(pkg-config --cflags --libs --static snnc)
cat >"$tmp/tiny.yaml" <<'Y'
snn: 1
name: tiny
timestep: 1 ms
duration: 10 ms
populations:
  p: {size: 3, model: if, params: {bias: 0.5 mV}, record: [spikes]}
Y
"$tmp/prefix/bin/snnc" build "$tmp/tiny.yaml" --target spinn3 -o "$tmp/tiny.snnb" >/dev/null
out=$("$tmp/device" emu "$tmp/tiny.snnb" 10)
[ "$out" = "success 15" ] || { echo "installed device API on the emulator printed '$out'"; exit 1; }
if "$tmp/prefix/bin/snnc" targets | grep -q '^sdt4 '; then
  cat >"$tmp/small.yaml" <<'Y'
snn: 1
name: small
seed: 4
layers:
  timesteps: 3
  output: l1
  nodes:
    - {name: in, op: input, shape: [3, 5, 5], kind: spikes, generate: {density: 0.4}}
    - {name: c1, op: conv, in: in, channels: 6, kernel: 3, generate: {lo: -0.5, hi: 1}}
    - {name: l1, op: lif, in: c1, threshold: 0.5}
Y
  "$tmp/prefix/bin/snnc" build "$tmp/small.yaml" --target sdt4 -o "$tmp/small.snnb" >/dev/null
  if "$tmp/prefix/bin/snnc" run "$tmp/small.snnb" --device rtl -q -o "$tmp/small.csv" 2>/dev/null; then
    want="success $(($(wc -l <"$tmp/small.csv") - 1))"
    out=$("$tmp/device" rtl "$tmp/small.snnb" 3)
    [ "$out" = "$want" ] || { echo "installed device API on the RTL printed '$out', not '$want'"; exit 1; }
  fi
fi
echo "ok: installed snnc, libraries, headers and pkg-config file work"
