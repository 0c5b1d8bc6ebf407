#!/usr/bin/env bash
# Upgrade the booth to a new release, and roll back when it is not healthy.
#
#   scripts/upgrade.sh --source DIR [--version V] [install options...]
#   scripts/upgrade.sh --rollback        go back to the previous release now
#
# Steps: stage the new release beside the running one (install.sh --stage-only),
# switch /opt/kiosk/current to it (the old one becomes `previous`), rewrite the
# system files from it, restart the services, then the health check:
#   1. `kiosk config check` and `kiosk doctor --smoke` with the new release
#      (config valid, every part imports, fonts, disk);
#   2. on a live system, kiosk-ui and kiosk-worker active (the screen only
#      becomes active after READY=1) within appliance.health_timeout seconds.
# If any of it fails, `current` goes back to the previous release, its system
# files are restored, the services restarted, the failed release is kept as
# releases/<version>.failed-<time> for the technician, and the exit code is 1.
# Options are passed on to install.sh (--root, --python, --deps-venv, ...).
set -euo pipefail
# The release's Python must import the release's code, never a kiosk/ in the cwd.
export PYTHONSAFEPATH=1

root="" source="" version="" rollback=0 pass=()
die() { echo "upgrade: $*" >&2; exit 1; }
say() { echo "upgrade: $*" >&2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$(realpath -m "$2"); pass+=(--root "$root"); shift 2 ;;
    --source) source=$(cd "$2" && pwd); shift 2 ;;
    --version) version=$2; shift 2 ;;
    --rollback) rollback=1; shift ;;
    --python|--deps-venv|--wheelhouse) pass+=("$1" "$2"); shift 2 ;;
    --no-deps|--no-apt|--standalone) pass+=("$1"); shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ "$root" = "/" ] && root=""
opt="$root/opt/kiosk"
live=1; [ -n "$root" ] && live=0
if [ "$live" = 1 ] && [ "$(id -u)" != 0 ]; then die "run as root (or use --root DIR)"; fi
[ -L "$opt/current" ] || die "no installed release under ${opt#"$root"} (run install.sh first)"

services=(kiosk-ui.service kiosk-worker.service)
for u in kiosk-center-worker.service kiosk-center.service; do
  if [ "$live" = 1 ] && systemctl is-enabled -q "$u" 2>/dev/null; then
    services=("$u" "${services[@]}")
  fi
done

setting() {  # setting KEY DEFAULT: read from the booth's config with the current release
  local v
  v=$(KIOSK_CONFIG="$root/etc/kiosk/kiosk.toml" "$opt/current/venv/bin/python" -c \
    "import sys; from kiosk.settings import load_settings; print(load_settings().get(sys.argv[1]))" \
    "$1" 2>/dev/null) || v=""
  [ -n "$v" ] && [ "$v" != None ] && echo "$v" || echo "$2"
}

point() {  # point LINK RELEASE_NAME
  ln -sfn "releases/$2" "$opt/.$1.new" && mv -T "$opt/.$1.new" "$opt/$1"
}

system_files() {  # rewrite units, rules... from the current release
  bash "$opt/current/app/scripts/install.sh" --system-only "${pass[@]}" >&2
}

restart_services() {
  [ "$live" = 1 ] || return 0
  systemctl daemon-reload
  systemctl restart "${services[@]}" || true
}

health_check() {  # health_check TIMEOUT_S: the current release is healthy?
  local py="$opt/current/venv/bin/python" cfg="$root/etc/kiosk/kiosk.toml" t
  local envs=(KIOSK_CONFIG="$cfg")
  if ! env "${envs[@]}" timeout "$1" "$py" -m kiosk config check --quiet; then
    say "health: config check failed"; return 1
  fi
  if ! env "${envs[@]}" timeout "$1" "$py" -m kiosk doctor --smoke; then
    say "health: doctor --smoke failed"; return 1
  fi
  [ "$live" = 1 ] || return 0
  for ((t = 0; t < ${1%.*}; t += 2)); do
    local all=1 u
    for u in "${services[@]}"; do systemctl is-active -q "$u" || all=0; done
    [ "$all" = 1 ] && return 0
    if systemctl is-failed -q kiosk-ui.service; then break; fi
    sleep 2
  done
  say "health: services not active: $(systemctl is-active "${services[@]}" | tr '\n' ' ')"
  return 1
}

prune() {  # keep appliance.keep_releases releases (never current or previous)
  local keep cur prev n=0 d
  keep=$(setting appliance.keep_releases 3); [ "$keep" -lt 2 ] && keep=2
  cur=$(readlink "$opt/current"); prev=$(readlink "$opt/previous" 2>/dev/null || true)
  while read -r d; do
    n=$((n + 1))
    [ "releases/$d" = "$cur" ] || [ "releases/$d" = "$prev" ] && continue
    if [ "$n" -gt "$keep" ]; then rm -rf "${opt:?}/releases/$d"; say "removed old release $d"; fi
  done < <(ls -1t "$opt/releases" | grep -v -e '^\.' -e '\.failed-')
}

if [ "$rollback" = 1 ]; then
  [ -L "$opt/previous" ] || die "no previous release to roll back to"
  cur=$(readlink "$opt/current"); prev=$(readlink "$opt/previous")
  point current "${prev#releases/}"; point previous "${cur#releases/}"
  system_files; restart_services
  say "rolled back to ${prev#releases/}"
  exit 0
fi

[ -n "$source" ] || die "--source DIR is required"
stage_args=(--source "$source"); [ -n "$version" ] && stage_args+=(--version "$version")
new=$(bash "$source/scripts/install.sh" --stage-only "${stage_args[@]}" "${pass[@]}") \
  || die "could not stage the new release"
new_name=$(basename "$new")
old=$(readlink "$opt/current"); old_name=${old#releases/}
if [ "$new_name" = "$old_name" ]; then
  say "release $new_name is already current"; exit 0
fi
timeout_s=$(setting appliance.health_timeout 90); timeout_s=${timeout_s%.*}

say "switching $old_name -> $new_name"
point previous "$old_name"
point current "$new_name"
if system_files && restart_services && health_check "$timeout_s"; then
  prune
  say "upgraded to $new_name (previous: $old_name)"
  exit 0
fi

say "release $new_name failed its health check: rolling back to $old_name"
point current "$old_name"
system_files || say "warning: restoring the system files of $old_name failed"
restart_services
failed="$new_name.failed-$(date -u +%Y%m%dT%H%M%SZ)"
mv "$opt/releases/$new_name" "$opt/releases/$failed"
rm -f "$opt/previous"
ls -1t "$opt/releases" | grep -v -e '^\.' -e '\.failed-' -e "^$old_name\$" | head -1 \
  | while read -r p; do point previous "$p"; done
say "rolled back to $old_name; the failed release is kept as releases/$failed"
exit 1
