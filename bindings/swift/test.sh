#!/usr/bin/env bash
# Builds and tests the Swift package against the libzts.so cargo built, then
# prints the 256 MiB transfer rate of Swift beside the C API's.
#
# Uses `swift` from PATH when there is one. Otherwise it runs the toolchain
# in a Debian 13 chroot (Debian 12 packages no Swift), made once and cached
# under target/swift-chroot; the repository is bind-mounted into it at its
# own path, so the library cargo built outside links and runs inside.
#
# Environment: ZTS_LIB_DIR (default target/release), SWIFT_CHROOT (where
# the chroot lives), SWIFT_TEST_ARGS (extra `swift test` arguments, e.g.
# "--filter EchoTests"), ZTS_BENCH_MIB (the transfer's size, default 256).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
lib_dir=$(realpath -m "${ZTS_LIB_DIR:-$repo/target/release}")
root=$(realpath -m "${SWIFT_CHROOT:-$repo/target/swift-chroot}")
bench_mib=${ZTS_BENCH_MIB:-256}

die() { echo "bindings/swift/test.sh: $*" >&2; exit 1; }
say() { echo "== $*"; }

case "$root" in /|/bin|/dev|/etc|/proc|/sys|/usr|/tmp|"$repo") die "SWIFT_CHROOT=$root is not a place for a chroot";; esac
[ -f "$lib_dir/libzts.so" ] || die "no $lib_dir/libzts.so: run 'cargo build --release' first"

# The C side of the throughput comparison, built and run on the host.
say "C transfer benchmark"
mkdir -p "$repo/target/swift-bench"
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || cc=clang
"$cc" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -pthread \
    -I "$repo/include" "$repo/examples-c/transfer.c" -o "$repo/target/swift-bench/c-transfer" \
    -L "$lib_dir" -lzts -Wl,-rpath,"$lib_dir" \
    || die "cannot build examples-c/transfer.c"
# The best of three runs on each side: other work on the machine only slows
# a run down.
best() { sort -t, -k2 -n -r | head -1; }
c_lines=
for _ in 1 2 3; do
    # 128 KiB writes, 256 KiB reads: the shape of Sources/zts-transfer.
    line=$("$repo/target/swift-bench/c-transfer" "$bench_mib" 128) || die "the C transfer failed"
    echo "$line"
    c_lines+="$line"$'\n'
done
c_line=$(printf '%s' "$c_lines" | best)

# The package's build, tests, example and transfer; the same with or
# without the chroot.
swift_steps() {
    cat <<EOF
set -e
cd '$here'
export ZTS_LIB_DIR='$lib_dir'
# SwiftPM does not see the library change: drop what links it, older than
# the library, so it is linked again (its SONAME may have changed).
if [ -d .build ]; then
    find .build -maxdepth 3 -type f -perm -u+x \\
        \\( -name 'zts-*' -o -name '*.xctest' \\) ! -newer '$lib_dir/libzts.so' -delete
fi
echo '== swift build'
swift build --build-tests
echo '== swift test'
swift test --skip-build --disable-swift-testing ${SWIFT_TEST_ARGS:-}
echo '== swift run zts-echo'
swift run --skip-build zts-echo
echo '== swift transfer (release build, as the C side)'
swift build -c release --product zts-transfer
for _ in 1 2 3; do "\$(swift build -c release --show-bin-path)/zts-transfer" '$bench_mib'; done
EOF
}

# Runs the steps in a session of their own, so an interrupted test.sh
# stops all of them before it unmounts; shows their output as it comes.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
child=
run_steps() {
    setsid "$@" bash -c "$(swift_steps)" > "$out" 2>&1 &
    child=$!
    tail -n +1 -f --pid="$child" "$out" &
    local shown=$!
    wait "$child" || run_result=$?
    wait "$shown" || true
    child=
}
stop_steps() {
    [ -z "$child" ] || kill -TERM -- "-$child" 2>/dev/null || true
    exit 130
}
trap stop_steps INT TERM

run_result=0
if command -v swift >/dev/null 2>&1; then
    say "swift from PATH: $(command -v swift)"
    run_steps env
else
    # One test.sh at a time may use (or make) the chroot.
    mkdir -p "$(dirname "$root")"
    exec 9>"$root.lock"
    flock 9

    mounts_under() { # deepest first
        awk -v r="$root" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
    }
    unmount_all() {
        local m
        for m in $(mounts_under); do
            umount -l "$m" 2>/dev/null || true
        done
    }
    # The chroot's own mount point is private and /dev's copy a slave, so
    # no mount or unmount here propagates to the host's (an unmount of a
    # shared /dev/pts copy would take the host's with it).
    mount_base() {
        mount --bind "$root" "$root"
        mount --make-private "$root"
        mount -t proc proc "$root/proc"
        mount --rbind /dev "$root/dev"
        mount --make-rslave "$root/dev"
    }
    # Unmount even when a step fails or the run is interrupted.
    trap 'unmount_all; rm -f "$out"' EXIT
    unmount_all

    # Each stamp is written once its step has succeeded, so an interrupted
    # setup is redone and a changed package list is installed on rerun.
    packages="swiftlang libc6-dev libstdc++-14-dev libgcc-14-dev"
    if [ "$(cat "$root/.zts-ready" 2>/dev/null)" != "$packages" ]; then
        say "making a Debian 13 chroot with Swift in $root (once; about a minute)"
        if [ ! -f "$root/.zts-debootstrapped" ]; then
            command -v debootstrap >/dev/null 2>&1 || {
                apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
            } || die "cannot install debootstrap (needs root and Debian's packages)"
            [ -z "$(mounts_under)" ] || die "$root still has mounts; refusing to remove it"
            rm -rf --one-file-system "$root"
            debootstrap --variant=minbase trixie "$root" > "$root.log" 2>&1 \
                || die "debootstrap failed; see $root.log"
            touch "$root/.zts-debootstrapped"
        fi
        mount_base
        cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
        chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            DEBIAN_FRONTEND=noninteractive sh -c \
            "apt-get update -q && apt-get install -y -q --no-install-recommends $packages && apt-get clean" \
            >> "$root.log" 2>&1 || die "installing $packages in the chroot failed; see $root.log"
        unmount_all
        echo "$packages" > "$root/.zts-ready"
    fi

    mount_base
    mount -t sysfs -o ro sysfs "$root/sys"
    mount -t tmpfs tmpfs "$root/tmp"
    # The repository (and a library directory outside it) at their own
    # paths, so every path means the same inside and out.
    bind_in() {
        mkdir -p "$root$1"
        mount --bind "$1" "$root$1"
        mount --make-private "$root$1"
    }
    bind_in "$repo"
    case "$lib_dir/" in
    "$repo"/*) ;;
    *) bind_in "$lib_dir" ;;
    esac

    say "swift in the chroot: $(chroot "$root" swift --version 2>&1 | head -1)"
    run_steps chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
fi

swift_line=$(grep '^swift: ' "$out" | best || true)
[ "$run_result" -eq 0 ] || die "the Swift build or tests failed (exit $run_result)"
[ -n "$swift_line" ] || die "the Swift transfer printed no result"

say "throughput, $bench_mib MiB over a mem: network (best of three runs each)"
echo "$c_line"
echo "$swift_line"
c_rate=$(sed -n 's/.*, \([0-9.]*\) MiB\/s$/\1/p' <<<"$c_line")
s_rate=$(sed -n 's/.*, \([0-9.]*\) MiB\/s$/\1/p' <<<"$swift_line")
awk -v c="$c_rate" -v s="$s_rate" 'BEGIN { printf "swift/c: %.2f\n", s / c }'
