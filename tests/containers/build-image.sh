#!/usr/bin/env bash
# Build, once, the systemd Debian 12 image every Molecule scenario runs in. No image registry is
# reachable, so the root filesystem comes from Debian's apt mirror (mmdebstrap) and is turned into an
# image with `podman import`. The result is cached as .cache/images/<name>-<key>.tar.zst, where <key>
# hashes every build input (this script, the files next to it, the host's extra CA certificates):
#   image present with the same key  -> nothing to do (well under a second)
#   cache file present               -> podman load (a few seconds)
#   otherwise                        -> build (about 2-3 minutes), then save to the cache
# Usage: build-image.sh [--force]      Env: IMAGE (default localhost/claude-gateway-systemd:12)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
IMAGE=${IMAGE:-localhost/claude-gateway-systemd:12}
CACHE=$ROOT/.cache/images
export CONTAINERS_CONF=${CONTAINERS_CONF:-$HERE/containers.conf}
LABEL=org.llmops.claude-gateway.build-key

# What every scenario needs, so no scenario installs it per run. nodejs + npm (Debian's, Node 18) cost
# ~70 s once at build time and ~45 MB in the compressed cache; installing them per container would cost
# about a minute each run.
PACKAGES=(
  python3 python3-apt python3-venv python3-pip
  sudo systemd systemd-sysv dbus
  iproute2 procps ca-certificates curl openssl
  nodejs npm
)
SUITE=bookworm
MIRRORS=(
  "deb http://deb.debian.org/debian bookworm main"
  "deb http://deb.debian.org/debian bookworm-updates main"
  "deb http://deb.debian.org/debian-security bookworm-security main"
)
# Units that only make noise or fail in a container.
MASK_UNITS=(getty.target console-getty.service systemd-firstboot.service systemd-udevd.service
  systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount)

shopt -s nullglob
# The host's own CAs (an HTTPS-intercepting proxy, a private PKI) so HTTPS verifies inside containers.
HOST_CAS=(/usr/local/share/ca-certificates/*.crt)
shopt -u nullglob

key=$( { cat "$0" "$HERE"/image/*; for f in "${HOST_CAS[@]}"; do echo "$f"; cat "$f"; done; } \
  | sha256sum | cut -c1-16 )
name=$(basename "${IMAGE%%:*}")
archive=$CACHE/$name-$key.tar.zst

current_key() { podman image inspect --format "{{ index .Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true; }
# The image the tag pointed to before a load or build: removed afterwards unless a container uses it.
previous=""
drop_previous() {
  local now
  now=$(podman image inspect --format '{{ .Id }}' "$IMAGE" 2>/dev/null || true)
  if [ -n "$previous" ] && [ "$previous" != "$now" ]; then
    podman rmi "$previous" >/dev/null 2>&1 || echo "image: previous image ${previous:0:12} kept (still in use)"
  fi
}

force=false
[ "${1:-}" = "--force" ] && force=true
if ! $force && [ "$(current_key)" = "$key" ]; then
  echo "image: $IMAGE is up to date (key $key)"
  exit 0
fi

mkdir -p "$CACHE"
# Several scenarios (or helpers) may ask for the image at once: one builds, the others wait.
exec 9>"$CACHE/.lock"
flock 9
if ! $force && [ "$(current_key)" = "$key" ]; then
  echo "image: $IMAGE is up to date (key $key)"
  exit 0
fi
previous=$(podman image inspect --format '{{ .Id }}' "$IMAGE" 2>/dev/null || true)

if ! $force && [ -s "$archive" ]; then
  echo "image: loading $IMAGE from $archive"
  start=$SECONDS
  zstd -dc "$archive" | podman load -q >/dev/null
  if [ "$(current_key)" = "$key" ]; then
    drop_previous
    echo "image: loaded in $((SECONDS - start)) s"
    exit 0
  fi
  echo "image: $archive did not give $IMAGE with key $key; rebuilding" >&2
  rm -f "$archive"
fi

for tool in mmdebstrap podman zstd; do
  command -v "$tool" >/dev/null || { echo "image: $tool is missing; run 'make deps'" >&2; exit 1; }
done

work=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "image: building $IMAGE (key $key) with mmdebstrap"
start=$SECONDS

hooks=(
  --customize-hook="mkdir -p \"\$1/usr/local/share/ca-certificates\""
)
if [ ${#HOST_CAS[@]} -gt 0 ]; then
  hooks+=(--customize-hook="copy-in ${HOST_CAS[*]} /usr/local/share/ca-certificates/")
fi
# Single quotes on purpose: mmdebstrap expands "$1" (the rootfs) when it runs each hook.
# shellcheck disable=SC2016
hooks+=(
  --customize-hook='chroot "$1" update-ca-certificates >/dev/null 2>&1'
  --customize-hook="copy-in $HERE/image/pip.conf /etc/"
  --customize-hook="copy-in $HERE/image/npmrc /etc/"
  --customize-hook="chroot \"\$1\" systemctl mask ${MASK_UNITS[*]} >/dev/null 2>&1"
  # An empty machine-id: systemd makes a fresh one per container at boot.
  --customize-hook=': > "$1/etc/machine-id"; rm -f "$1/var/lib/dbus/machine-id"'
)

# Fixed SOURCE_DATE_EPOCH: same file times for the same packages (reproducible rootfs tarball).
SOURCE_DATE_EPOCH=1700000000 mmdebstrap --quiet --variant=minbase \
  --include="$(IFS=,; echo "${PACKAGES[*]}")" \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  "${hooks[@]}" \
  "$SUITE" "$work/rootfs.tar" "${MIRRORS[@]}"
echo "image: rootfs $(du -m "$work/rootfs.tar" | cut -f1) MB after $((SECONDS - start)) s"

podman import -q \
  --change 'CMD ["/sbin/init"]' \
  --change 'STOPSIGNAL SIGRTMIN+3' \
  --change "LABEL $LABEL=$key" \
  "$work/rootfs.tar" "$IMAGE" >/dev/null
size=$(podman image inspect --format '{{ .Size }}' "$IMAGE")
# Seen once: an import that came out empty. Refuse it rather than caching it.
if [ "$size" -lt 100000000 ]; then
  echo "image: $IMAGE is only $size bytes; the import failed" >&2
  podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
  exit 1
fi
if [ "$(current_key)" != "$key" ]; then
  echo "image: $IMAGE lacks label $LABEL=$key after import" >&2
  exit 1
fi

drop_previous
podman save "$IMAGE" | zstd -q -T0 -6 -o "$work/image.tar.zst"
mv "$work/image.tar.zst" "$archive"
# Keep only the archive for the current inputs.
find "$CACHE" -maxdepth 1 -name "$name-*.tar.zst" ! -name "$(basename "$archive")" -delete
echo "image: built $IMAGE ($((size / 1000000)) MB, cache $(du -m "$archive" | cut -f1) MB) in $((SECONDS - start)) s"
