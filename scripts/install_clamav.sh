#!/usr/bin/env bash
# Install ClamAV's scanner (clamscan) without its updater into a folder, plus a signature
# database of our own holding only the EICAR test signature.
#
#   scripts/install_clamav.sh [DEST]     (default: .cache/clamav in the repository)
#
# Debian's packages are fetched with `apt-get download` and unpacked with `dpkg -x`:
# no maintainer script runs and freshclam is never installed or started. Idempotent:
# when DEST already holds a working scanner, nothing is fetched.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$repo_root/.cache/clamav}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
clamscan="$dest/usr/bin/clamscan"
libdir="$dest/usr/lib/x86_64-linux-gnu"
database="$dest/eicar.hdb"

fail() { echo "install_clamav.sh: $*" >&2; exit 1; }

write_database() {
    # The 68-byte EICAR test string, assembled in two parts so this script itself is not flagged.
    local eicar md5
    eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-'
    eicar+='ANTIVIRUS-TEST-FILE!$H+H*'
    md5="$(printf '%s' "$eicar" | md5sum | cut -d' ' -f1)"
    printf '%s:68:Eicar-Test-Signature\n' "$md5" > "$database"
}

scanner_works() {
    [ -x "$clamscan" ] && LD_LIBRARY_PATH="$libdir" "$clamscan" --version >/dev/null 2>&1
}

if scanner_works; then
    write_database
    echo "clamscan already installed in $dest"
    exit 0
fi

command -v apt-get >/dev/null || fail "apt-get not found: this script needs a Debian-based system"
command -v dpkg >/dev/null || fail "dpkg not found"

packages=(clamav libclamav12 libmspack0)
# Runtime libraries of libclamav that the base system may lack; unpack only missing ones.
for optional in libjson-c5 libxml2 libpcre2-8-0 libbz2-1.0 libcurl4 libssl3; do
    if ! dpkg-query -W -f='${Status}' "$optional" 2>/dev/null | grep -q "install ok installed"; then
        packages+=("$optional")
    fi
done

download="$(mktemp -d)"
trap 'rm -rf "$download"' EXIT
if ! (cd "$download" && apt-get download "${packages[@]}" >/dev/null 2>&1); then
    echo "apt-get download failed; refreshing the package lists once" >&2
    apt-get update >/dev/null 2>&1 || fail "apt-get update failed (no access to the package mirror?)"
    (cd "$download" && apt-get download "${packages[@]}") \
        || fail "apt-get download ${packages[*]} failed"
fi
for deb in "$download"/*.deb; do
    dpkg -x "$deb" "$dest"
done

[ -x "$clamscan" ] || fail "clamscan missing after unpacking into $dest"
missing="$(LD_LIBRARY_PATH="$libdir" ldd "$clamscan" "$libdir"/libclamav.so.* 2>/dev/null | grep 'not found' || true)"
[ -z "$missing" ] || fail "libraries not found for clamscan: $missing"
scanner_works || fail "clamscan in $dest does not run"
write_database
echo "clamscan installed in $dest (database $database)"
