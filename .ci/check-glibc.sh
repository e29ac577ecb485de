#!/usr/bin/env bash
# Checks that shared libraries need no glibc symbol version newer than the floor
# (GLIBC_FLOOR, default 2.17: manylinux2014, the oldest glibc of the distributions agents
# still run on) and link only the system libraries a glibc host always has.
#
#   bash .ci/check-glibc.sh target/x86_64-unknown-linux-gnu/release/libswtls.so [more.so ...]
#
# Fails, naming the file and each offending symbol, on anything newer.
set -euo pipefail
floor=${GLIBC_FLOOR:-2.17}
[ $# -gt 0 ] || { echo "usage: check-glibc.sh LIBRARY..."; exit 2; }
command -v objdump >/dev/null || { echo "check-glibc: objdump (binutils) is required"; exit 2; }
status=0
for lib in "$@"; do
    [ -f "$lib" ] || { echo "check-glibc: no such file: $lib"; status=1; continue; }
    # Dynamic symbols with their versions, e.g. "0000 DF *UND* 0000 (GLIBC_2.14) memcpy".
    syms=$(objdump -T "$lib")
    newest=$(grep -o 'GLIBC_[0-9][0-9.]*' <<<"$syms" | sed 's/GLIBC_//' | sort -Vu | tail -n 1)
    too_new=$(awk -v floor="$floor" '
        function newer(v, f,    a, b, i, n) {
            n = split(v, a, "."); split(f, b, ".")
            for (i = 1; i <= 3; i++) { if ((a[i] + 0) != (b[i] + 0)) return (a[i] + 0) > (b[i] + 0) }
            return 0
        }
        match($0, /GLIBC_[0-9][0-9.]*/) {
            v = substr($0, RSTART + 6, RLENGTH - 6)
            if (newer(v, floor)) print "    GLIBC_" v "  " $NF
        }' <<<"$syms")
    needed=$(objdump -p "$lib" | awk '$1 == "NEEDED" { print $2 }' | tr '\n' ' ')
    unexpected=$(tr ' ' '\n' <<<"$needed" | grep -v -E '^$|^(libc|libm|libdl|libpthread|librt|libutil|libgcc_s)\.so\.[0-9]+$|^ld-linux-x86-64\.so\.2$' || true)
    if [ -n "$too_new" ]; then
        echo "FAIL $lib needs glibc newer than $floor:"
        echo "$too_new"
        status=1
    elif [ -n "$unexpected" ]; then
        echo "FAIL $lib links libraries a glibc $floor host may not have: $unexpected"
        status=1
    else
        echo "ok   $lib: newest glibc symbol ${newest:-none} (floor $floor); needs $needed"
    fi
done
exit $status
