#!/usr/bin/env bash
# Build a booth image's root tree (Debian bookworm) with the kiosk preinstalled
# and first-boot provisioning enabled.
#
#   scripts/build-image.sh --out DIR [--arch amd64|arm64] [--mirror URL]
#       debootstrap a bookworm root into DIR/rootfs (needs root and the Debian
#       mirror), install image/packages.txt, then the kiosk inside it
#       (install.sh in a chroot; pip needs the network or --wheelhouse).
#       For arm64 on an x86 host, qemu-user-static must be installed.
#   scripts/build-image.sh --out DIR --no-base [install options...]
#       the kiosk and image layers only, into an empty DIR/rootfs with the
#       host's Python (offline: tests, or to overlay onto an existing base tree
#       given with --base DIR, which is copied first)
#   scripts/build-image.sh --tool mkosi --out DIR
#       a bootable disk image from image/mkosi.conf (x86-64, EFI)
#   scripts/build-image.sh --layer-only --rootfs DIR
#       only the image layer (used by image/mkosi.postinst)
# The image layer: getty on tty1 masked (the screen owns it), multi-user
# default target, console blanking and the console cursor off on the kernel
# command line, the example provisioning file on the boot partition.
# Writing the tree to an SD card (partitioning, the Pi's firmware and kernel)
# is pi-gen's or mkosi's job; see docs/appliance.md.
set -euo pipefail
export PYTHONSAFEPATH=1

here=$(cd "$(dirname "$0")/.." && pwd)
out="" arch=amd64 mirror=http://deb.debian.org/debian base="" nobase=0 tool=debootstrap
layer_only=0 rootfs="" pass=()
die() { echo "build-image: $*" >&2; exit 1; }
say() { echo "build-image: $*" >&2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$(realpath -m "$2"); shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    --base) base=$(cd "$2" && pwd); nobase=1; shift 2 ;;
    --no-base) nobase=1; shift ;;
    --tool) tool=$2; shift 2 ;;
    --layer-only) layer_only=1; shift ;;
    --rootfs) rootfs=$(realpath -m "$2"); shift 2 ;;
    --python|--deps-venv|--wheelhouse|--version) pass+=("$1" "$2"); shift 2 ;;
    --no-deps) pass+=("$1"); shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

image_layer() {  # image_layer ROOTFS
  local r=$1
  mkdir -p "$r/etc/systemd/system" "$r/boot/firmware"
  ln -sfn /dev/null "$r/etc/systemd/system/getty@tty1.service"
  ln -sfn /lib/systemd/system/multi-user.target "$r/etc/systemd/system/default.target"
  install -m 0644 "$here/image/kiosk-provision.toml.example" \
    "$r/boot/firmware/kiosk-provision.toml.example"
  local args="consoleblank=0 vt.global_cursor_default=0"
  if [ -f "$r/boot/firmware/cmdline.txt" ]; then  # Raspberry Pi: one line
    grep -q consoleblank= "$r/boot/firmware/cmdline.txt" \
      || sed -i "1s/\$/ $args/" "$r/boot/firmware/cmdline.txt"
  else
    mkdir -p "$r/etc/kernel"
    [ -f "$r/etc/kernel/cmdline" ] || echo "$args quiet" > "$r/etc/kernel/cmdline"
  fi
  [ -s "$r/etc/hostname" ] || echo kiosk > "$r/etc/hostname"
  local version
  version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$here/pyproject.toml" | head -1)
  printf 'kiosk_version=%s\nbuilt=%s\nbase=debian-bookworm-%s\n' "$version" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$arch" > "$r/etc/kiosk-image-release"
}

if [ "$layer_only" = 1 ]; then
  [ -n "$rootfs" ] || die "--layer-only needs --rootfs DIR"
  image_layer "$rootfs"; say "image layer written to $rootfs"; exit 0
fi
[ -n "$out" ] || die "--out DIR is required"
[ "$(id -u)" = 0 ] || die "run as root (file owners in the image must be right)"

if [ "$tool" = mkosi ]; then
  command -v mkosi >/dev/null || die "mkosi is not installed (apt install mkosi)"
  mkdir -p "$out"
  (cd "$here/image" && mkosi --output-dir "$out" -f build)
  say "image in $out"; exit 0
fi

rootfs="$out/rootfs"
mkdir -p "$out"
if [ "$nobase" = 1 ]; then
  rm -rf "$rootfs"; mkdir -p "$rootfs"
  [ -n "$base" ] && cp -a "$base/." "$rootfs/"
  bash "$here/scripts/install.sh" --root "$rootfs" --source "$here" "${pass[@]}" >&2
else
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt install debootstrap)"
  pkgs=$(grep -v '^\s*#' "$here/image/packages.txt" | grep -v '^\s*$' | paste -sd, -)
  if [ ! -x "$rootfs/usr/bin/python3" ]; then
    rm -rf "$rootfs"
    debootstrap --arch="$arch" --variant=minbase --include="$pkgs" bookworm "$rootfs" "$mirror"
  fi
  mkdir -p "$rootfs/usr/src"
  rm -rf "$rootfs/usr/src/kiosk"
  tar -C "$here" --exclude=.git --exclude=.venv --exclude=__pycache__ -cf - . \
    | tar -C "$rootfs/usr/src" --one-top-level=kiosk -xf -
  cp -L /etc/resolv.conf "$rootfs/etc/resolv.conf" 2>/dev/null || true
  for m in proc sys dev; do mount --bind "/$m" "$rootfs/$m"; done
  trap 'for m in dev sys proc; do umount -l "$rootfs/$m" 2>/dev/null || true; done' EXIT
  chroot "$rootfs" bash /usr/src/kiosk/scripts/install.sh --no-apt --source /usr/src/kiosk \
    "${pass[@]}"
fi
image_layer "$rootfs"
say "root tree in $rootfs"
