#!/usr/bin/env bash
# Installs devloop.
#
#   ./install.sh                          build from this checkout (cargo) and install
#   ./install.sh --binary PATH            install an already built binary
#   ./install.sh --archive FILE --sha256 HEX
#                                         verify a release archive (.tar.gz holding
#                                         `devloop`) against its checksum, then install
#
# Installs into $PREFIX/bin (PREFIX defaults to ~/.local). Nothing is installed
# when a step fails; a wrong checksum is refused before anything is unpacked.
set -euo pipefail

prog=$(basename "$0")
die() { echo "$prog: error: $*" >&2; exit 1; }
say() { echo "$prog: $*" >&2; }

usage() {
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}

binary=""
archive=""
sha256=""
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) [ $# -ge 2 ] || die "--binary needs a path"; binary=$2; shift 2 ;;
        --archive) [ $# -ge 2 ] || die "--archive needs a file"; archive=$2; shift 2 ;;
        --sha256) [ $# -ge 2 ] || die "--sha256 needs a hex digest"; sha256=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

[ -n "$binary" ] && [ -n "$archive" ] && die "give either --binary or --archive, not both"
[ -n "$archive" ] && [ -z "$sha256" ] && die "--archive needs --sha256 HEX (the published checksum)"
[ -n "$sha256" ] && [ -z "$archive" ] && die "--sha256 goes with --archive"

prefix=${PREFIX:-"$HOME/.local"}
bindir="$prefix/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -n "$archive" ]; then
    [ -f "$archive" ] || die "no such archive: $archive"
    case "$sha256" in
        *[!0-9a-fA-F]*|"") die "--sha256 must be 64 hex digits" ;;
    esac
    [ ${#sha256} -eq 64 ] || die "--sha256 must be 64 hex digits"
    actual=$(sha256sum "$archive" | cut -d' ' -f1)
    want=$(echo "$sha256" | tr 'A-F' 'a-f')
    if [ "$actual" != "$want" ]; then
        die "checksum mismatch for $archive: expected $want, got $actual; nothing was installed"
    fi
    say "checksum of $archive verified"
    tar -xzf "$archive" -C "$work" || die "cannot unpack $archive"
    binary=$(find "$work" -type f -name devloop | head -n 1)
    [ -n "$binary" ] || die "$archive holds no file named devloop"
elif [ -z "$binary" ]; then
    root=$(cd "$(dirname "$0")" && pwd)
    [ -f "$root/Cargo.toml" ] || die "not a devloop checkout ($root has no Cargo.toml); use --binary or --archive"
    command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust from https://rustup.rs, or use --binary PATH / --archive FILE --sha256 HEX"
    say "building the release binary (cargo build --release --locked)"
    (cd "$root" && cargo build --release --locked --bin devloop) || die "cargo build failed"
    binary="$root/target/release/devloop"
fi

[ -f "$binary" ] || die "no such binary: $binary"
"$binary" --version >/dev/null 2>&1 || die "$binary does not run on this machine"
mkdir -p "$bindir" || die "cannot create $bindir"
# Copy then rename, so a running devloop is never left half-written.
cp "$binary" "$bindir/.devloop.tmp.$$"
chmod 755 "$bindir/.devloop.tmp.$$"
mv -f "$bindir/.devloop.tmp.$$" "$bindir/devloop"
say "installed $("$bindir/devloop" --version) to $bindir/devloop"
case ":$PATH:" in
    *":$bindir:"*) ;;
    *) say "note: $bindir is not on your PATH; add it, e.g. export PATH=\"$bindir:\$PATH\"" ;;
esac
