#!/usr/bin/env bash
# Remove the kiosk appliance installed by install.sh.
#
#   scripts/uninstall.sh [--root DIR] [--purge]
# Stops and disables the units, removes them, the udev rules, the sysusers,
# tmpfiles and journald drop-ins, the gvfs mask, /usr/local/bin/kiosk and
# /opt/kiosk. Keeps /etc/kiosk (config, device token) and /var/lib/kiosk (the
# outbox: photos not yet uploaded!) unless --purge is given; --purge refuses
# while the outbox still holds photos unless --force is added too. The kiosk
# user is left in place (like Debian packages leave system users).
set -euo pipefail

root="" purge=0 force=0
die() { echo "uninstall: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$(realpath -m "$2"); shift 2 ;;
    --purge) purge=1; shift ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
done
[ "$root" = "/" ] && root=""
if [ -z "$root" ] && [ "$(id -u)" != 0 ]; then die "run as root (or use --root DIR)"; fi
etc="$root/etc"
units=(kiosk-ui.service kiosk-worker.service kiosk-center.service kiosk-firstboot.service
       kiosk-center-worker.service kiosk-center-purge.service kiosk-center-purge.timer)

if [ "$purge" = 1 ] && [ "$force" = 0 ]; then
  queued=$(find "$root/var/lib/kiosk" -path '*outbox*' -type f \( -name '*.jpg' -o -name '*.jpeg' \) \
    2>/dev/null | wc -l)
  [ "$queued" -eq 0 ] || die "$queued photo(s) still wait for upload in /var/lib/kiosk; add --force to delete them"
fi

if [ -z "$root" ]; then
  systemctl disable --now "${units[@]}" >/dev/null 2>&1 || true
fi
for u in "${units[@]}"; do
  rm -f "$etc/systemd/system/$u" "$etc/systemd/system/"*.wants/"$u"
  rm -rf "$etc/systemd/system/$u.d"
done
rm -f "$etc/udev/rules.d/70-kiosk-devices.rules" \
      "$etc/sysusers.d/kiosk.conf" "$etc/tmpfiles.d/kiosk.conf" \
      "$etc/systemd/journald.conf.d/kiosk.conf" \
      "$root/usr/local/bin/kiosk"
if [ "$(readlink "$etc/systemd/user/gvfs-gphoto2-volume-monitor.service" 2>/dev/null)" = /dev/null ]; then
  rm -f "$etc/systemd/user/gvfs-gphoto2-volume-monitor.service"
fi
rm -rf "$root/opt/kiosk"
if [ "$purge" = 1 ]; then
  rm -rf "$etc/kiosk" "$root/var/lib/kiosk" "$root/var/cache/kiosk"
fi
if [ -z "$root" ]; then
  systemctl daemon-reload || true
  udevadm control --reload || true
fi
echo "uninstall: removed the kiosk$([ "$purge" = 1 ] && echo ', its config and state')" >&2
