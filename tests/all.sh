#!/usr/bin/env bash
# The whole suite on a fresh machine: installs what it lacks, checks style,
# then runs every test. The README's test command; .ci/run calls it.
#
# Installs (only what is missing): Debian packages (compilers, cmake,
# pkg-config, valgrind, iproute2, curl, dnsmasq, tshark, debootstrap, ...),
# pytest with pip, rustfmt and clippy with rustup, cargo-fuzz with cargo,
# and a Debian 13 chroot with Swift under target/ for the Swift package.
# apt-get needs root; the kernel interop tests do too.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

need=()
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v valgrind >/dev/null || need+=(valgrind)
command -v git >/dev/null || need+=(git)
# The install tests: cmake drives cargo; consumers use CMake and pkg-config.
command -v cmake >/dev/null || need+=(cmake)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v c++ >/dev/null || need+=(g++)
command -v readelf >/dev/null || need+=(binutils)
python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
# The interop tests' peers and tools.
command -v ip >/dev/null || need+=(iproute2)
command -v ethtool >/dev/null || need+=(ethtool)
# The benchmark's loss rows drop with iptables' statistic match.
command -v iptables >/dev/null || need+=(iptables)
command -v curl >/dev/null || need+=(curl)
# The preload tests' unmodified programs.
command -v nginx >/dev/null || need+=(nginx-light)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-benchmark >/dev/null || need+=(redis-tools)
command -v iperf3 >/dev/null || need+=(iperf3)
command -v nc >/dev/null || need+=(netcat-openbsd)
command -v ping >/dev/null || need+=(iputils-ping)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v tshark >/dev/null || need+=(tshark)
command -v setpriv >/dev/null || need+=(util-linux)
command -v sha256sum >/dev/null || need+=(coreutils)
# The Swift package's toolchain comes in a Debian 13 chroot.
command -v swift >/dev/null || command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  step "apt-get install ${need[*]}"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q "${need[@]}"
fi
# pip where Python is the project's own (pyenv, a venv); Debian's package
# where the system Python refuses pip installs (PEP 668).
python3 -m pytest --version >/dev/null 2>&1 || python3 -m pip install -q pytest ||
  { [ "$(id -u)" -eq 0 ] || sudo=(sudo); "${sudo[@]}" apt-get install -y -q python3-pytest; }
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
# The fuzz targets' runner (tests/fuzz.rs runs each target for a bounded time).
cargo fuzz --version >/dev/null 2>&1 || cargo install -q cargo-fuzz --locked

# Every part runs even when one fails, so one failure hides no other;
# the script fails at the end, naming what failed.
failed=()
part() {
  local name=$1
  shift
  step "$name"
  "$@" || failed+=("$name")
}

style() {
  cargo fmt --all -- --check &&
    cargo clippy --all-targets -- -D warnings &&
    cargo fmt --manifest-path fuzz/Cargo.toml -- --check &&
    cargo clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings
}
smoltcp_units() {
  local features
  features=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; m=json.load(sys.stdin); p=[p for p in m["packages"] if p["name"]=="zts"][0]; d=[d for d in p["dependencies"] if d["name"]=="smoltcp"][0]; print(",".join(d["features"]))') &&
    cargo test --quiet --manifest-path vendor/smoltcp/Cargo.toml --target-dir target/smoltcp --lib &&
    cargo test --quiet --manifest-path vendor/smoltcp/Cargo.toml --target-dir target/smoltcp \
      --lib --no-default-features --features "$features"
}
swift_package() {
  cargo build --release --lib --quiet && bindings/swift/test.sh
}

part "style: cargo fmt, clippy" style
# --no-fail-fast: one failing test binary does not hide the others' results.
part "cargo test: Rust, C (ASan, valgrind), Python, install, kernel interop, fuzzing" \
  cargo test --no-fail-fast
part "smoltcp's own unit tests, with its default features and with zts's" smoltcp_units
part "Swift package: swift build, swift test" swift_package

if [ ${#failed[@]} -gt 0 ]; then
  step "FAILED: ${failed[*]}"
  exit 1
fi
step "all passed"
