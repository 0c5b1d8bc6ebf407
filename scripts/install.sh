#!/usr/bin/env bash
# Install the kiosk as an appliance on Raspberry Pi OS bookworm / Debian 12.
# Idempotent: running it again changes nothing that is already right.
#
#   scripts/install.sh [options]
#     --root DIR        install into a scratch root (image builds, tests): no apt,
#                       no systemctl, no udevadm; units enabled by wants symlinks
#     --source DIR      the kiosk source tree to install (default: this script's)
#     --version V       release name (default: pyproject.toml's version)
#     --python PATH     interpreter for the release's venv (default: /usr/bin/python3)
#     --deps-venv PATH  reuse an existing venv's packages instead of pip (offline
#                       installs, tests); --wheelhouse DIR installs from wheels
#     --no-deps         no Python dependencies at all (layout checks only)
#     --no-apt          do not install Debian packages
#     --standalone      also enable kiosk-center.service (booth without a center)
#     --stage-only      only build the release directory; print its path
#     --system-only     only (re)write system files from the current release
#     --no-switch       build the release but leave `current` alone
#     --start           (re)start the services at the end
# Layout: /opt/kiosk/releases/<version>/{app,venv,RELEASE}, /opt/kiosk/current
# and /opt/kiosk/previous symlinks, units in /etc/systemd/system, config in
# /etc/kiosk (kiosk.toml written once, never overwritten; device-token 0600).
set -euo pipefail
# The release's Python must import the release's code, never a kiosk/ in the cwd.
export PYTHONSAFEPATH=1

here=$(cd "$(dirname "$0")/.." && pwd)
root="" source="$here" version="" python="${KIOSK_PYTHON:-/usr/bin/python3}"
deps=index deps_arg="" apt=1 standalone=0 mode=full switch=1 start=0

die() { echo "install: $*" >&2; exit 1; }
say() { echo "install: $*" >&2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$(realpath -m "$2"); shift 2 ;;
    --source) source=$(cd "$2" && pwd); shift 2 ;;
    --version) version=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --deps-venv) deps=venv; deps_arg=$(cd "$2" && pwd); shift 2 ;;
    --wheelhouse) deps=wheelhouse; deps_arg=$(cd "$2" && pwd); shift 2 ;;
    --no-deps) deps=none; shift ;;
    --no-apt) apt=0; shift ;;
    --standalone) standalone=1; shift ;;
    --stage-only) mode=stage; shift ;;
    --system-only) mode=system; shift ;;
    --no-switch) switch=0; shift ;;
    --start) start=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ "$root" = "/" ] && root=""
[ -n "$root" ] && apt=0
if [ -z "$root" ] && [ "$(id -u)" != 0 ]; then die "run as root (or use --root DIR)"; fi

if [ -z "$version" ]; then
  version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$source/pyproject.toml" | head -1)
fi
[[ "$version" =~ ^[A-Za-z0-9._+-]+$ ]] || die "bad version '$version'"

opt="$root/opt/kiosk"
etc="$root/etc"
units=(kiosk-ui.service kiosk-worker.service kiosk-center.service kiosk-firstboot.service
       kiosk-center-worker.service kiosk-center-purge.service kiosk-center-purge.timer)
enabled=(kiosk-ui.service kiosk-worker.service kiosk-firstboot.service)
[ "$standalone" = 1 ] && enabled+=(kiosk-center.service)

# --- Debian packages ----------------------------------------------------------
install_packages() {
  [ "$apt" = 1 ] && command -v apt-get >/dev/null || return 0
  mapfile -t pkgs < <(grep -v '^\s*#' "$source/image/packages.txt" | grep -v '^\s*$')
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=5 update -q
  DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=5 install -y -q \
    --no-install-recommends "${missing[@]}"
}

# --- the release: app tree + venv ---------------------------------------------
# kiosk_demo (the demo harness) stays out of a booth release: no `kiosk demo` there.
app_items=(kiosk hardware center durable config scripts systemd image docs requirements
           pyproject.toml README.md)

source_hash() {
  (cd "$source" && for i in "${app_items[@]}"; do [ -e "$i" ] && echo "$i"; done \
    | xargs -I{} find {} -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

copy_app() {  # copy_app DEST
  mkdir -p "$1"
  local i
  for i in "${app_items[@]}"; do
    [ -e "$source/$i" ] || continue
    tar -C "$source" --exclude=__pycache__ --exclude='*.pyc' --exclude='*.egg-info' \
      --owner=0 --group=0 -cf - "$i" | tar -C "$1" --no-same-owner -xf -
  done
  chmod -R u=rwX,go=rX "$1"
}

make_venv() {  # make_venv RELEASE_DIR
  local rel=$1 venv=$1/venv
  case "$deps" in
    venv|none) "$python" -m venv --without-pip "$venv" ;;
    *) "$python" -m venv "$venv" ;;
  esac
  local site
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  # The app is found relative to the venv, so the release also works from a
  # scratch root (tests, image builds) and can be moved.
  printf '%s\n' "import os, sys; sys.path.insert(0, os.path.join(sys.prefix, '..', 'app'))" \
    > "$site/kiosk-app.pth"
  case "$deps" in
    venv)
      local dsite
      dsite=$("$deps_arg/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
      echo "$dsite" > "$site/kiosk-deps.pth" ;;
    index|wheelhouse)
      local reqs=() r
      for r in base hardware center ui; do
        [ -f "$rel/app/requirements/$r.txt" ] && reqs+=(-r "$rel/app/requirements/$r.txt")
      done
      local pipargs=(--disable-pip-version-check -q --retries 10 --timeout 60)
      [ "$deps" = wheelhouse ] && pipargs+=(--no-index --find-links "$deps_arg")
      "$venv/bin/pip" install "${pipargs[@]}" "${reqs[@]}" ;;
  esac
  # The `kiosk` command, pointing at the release's own interpreter (target path).
  local target=${venv#"$root"}
  printf '#!%s/bin/python\nimport sys\nfrom kiosk.cli import main\nsys.exit(main())\n' \
    "$target" > "$venv/bin/kiosk"
  chmod 0755 "$venv/bin/kiosk"
}

stage_release() {
  local rel="$opt/releases/$version" hash
  hash=$(source_hash)
  if [ -f "$rel/RELEASE" ] && grep -qx "source_sha256=$hash" "$rel/RELEASE" \
     && [ -x "$rel/venv/bin/python" ]; then
    say "release $version already in place"
    echo "$rel"; return 0
  fi
  local tmp="$opt/releases/.$version.new"
  rm -rf "$tmp"
  mkdir -p "$opt/releases"
  copy_app "$tmp/app"
  # Build the venv where it will live (venvs hold absolute paths), then swap.
  local old=""
  if [ -e "$rel" ]; then old="$opt/releases/.$version.old"; rm -rf "$old"; mv "$rel" "$old"; fi
  mv "$tmp" "$rel"
  if ! make_venv "$rel"; then
    rm -rf "$rel"; [ -n "$old" ] && mv "$old" "$rel"
    die "could not build the venv of release $version"
  fi
  local commit=""
  commit=$(git -C "$source" rev-parse --short HEAD 2>/dev/null || true)
  printf 'version=%s\nsource_sha256=%s\ncommit=%s\ninstalled=%s\npython=%s\n' \
    "$version" "$hash" "$commit" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "$("$rel/venv/bin/python" -c 'import platform; print(platform.python_version())')" \
    > "$rel/RELEASE"
  chmod 0644 "$rel/RELEASE"
  [ -n "$old" ] && rm -rf "$old"
  say "release $version staged in ${rel#"$root"}"
  echo "$rel"
}

switch_current() {  # switch_current VERSION
  local cur=""
  [ -L "$opt/current" ] && cur=$(readlink "$opt/current")
  [ "$cur" = "releases/$1" ] && return 0
  if [ -n "$cur" ]; then ln -sfn "$cur" "$opt/.previous.new" && mv -T "$opt/.previous.new" "$opt/previous"; fi
  ln -sfn "releases/$1" "$opt/.current.new"
  mv -T "$opt/.current.new" "$opt/current"
  say "current -> releases/$1"
}

# --- system files ---------------------------------------------------------------
put() {  # put MODE SRC DEST: copy when different
  local mode=$1 src=$2 dest=$3
  mkdir -p "$(dirname "$dest")"
  if ! cmp -s "$src" "$dest" 2>/dev/null; then cp "$src" "$dest.tmp.$$"; mv "$dest.tmp.$$" "$dest"; fi
  chmod "$mode" "$dest"
  chown 0:0 "$dest"
}

id_in_root() {  # id_in_root passwd|group NAME -> numeric id from the target's database
  awk -F: -v n="$2" '$1 == n { print $3 }' "$etc/$1"
}

install_system() {
  local cur="$opt/current" py app tmp
  [ -e "$cur/venv/bin/python" ] || die "no current release under ${opt#"$root"}"
  py="$cur/venv/bin/python"; app="$cur/app"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' RETURN

  local u
  for u in "${units[@]}"; do put 0644 "$app/systemd/$u" "$etc/systemd/system/$u"; done
  put 0644 "$app/systemd/sysusers.d/kiosk.conf" "$etc/sysusers.d/kiosk.conf"
  put 0644 "$app/systemd/tmpfiles.d/kiosk.conf" "$etc/tmpfiles.d/kiosk.conf"

  # The user and its groups, then directories and the token file.
  if [ -n "$root" ]; then
    mkdir -p "$etc"; touch "$etc/passwd" "$etc/group"
    [ -e "$etc/shadow" ] || install -m 0640 /dev/null "$etc/shadow"
    [ -e "$etc/gshadow" ] || install -m 0640 /dev/null "$etc/gshadow"
    systemd-sysusers --root="$root" "$etc/sysusers.d/kiosk.conf" >/dev/null
  else
    systemd-sysusers "$etc/sysusers.d/kiosk.conf"
  fi
  mkdir -p "$etc/kiosk/kiosk.toml.d"
  chmod 0755 "$etc/kiosk" "$etc/kiosk/kiosk.toml.d"
  if [ ! -e "$etc/kiosk/device-token" ]; then install -m 0600 /dev/null "$etc/kiosk/device-token"; fi
  chown 0:0 "$etc/kiosk/device-token"; chmod 0600 "$etc/kiosk/device-token"
  local kuid kgid
  kuid=$(id_in_root passwd kiosk); kgid=$(id_in_root group kiosk)
  [ -n "$kuid" ] && [ -n "$kgid" ] || die "user kiosk was not created"
  for d in "$root/var/lib/kiosk" "$root/var/cache/kiosk"; do
    mkdir -p "$d"; chown "$kuid:$kgid" "$d"; chmod 0750 "$d"
  done

  # The center's secrets, apart from its data (center/secret_files.py): made once
  # here, since the service sees /etc read-only; a poster key an older center kept
  # in its data directory moves here, so printed posters stay valid.
  local sec="$etc/kiosk/center-secrets" name
  mkdir -p "$sec"; chown "$kuid:$kgid" "$sec"; chmod 0700 "$sec"
  if [ ! -e "$sec/context_signing_key.ed25519" ] \
      && [ -e "$root/var/lib/kiosk/center/context_signing_key.ed25519" ]; then
    mv "$root/var/lib/kiosk/center/context_signing_key.ed25519" "$sec/context_signing_key.ed25519"
  fi
  for name in download_link.key console_session.key context_signing_key.ed25519; do
    if [ ! -e "$sec/$name" ]; then
      head -c 32 /dev/urandom > "$sec/.$name.$$"; mv "$sec/.$name.$$" "$sec/$name"
    fi
    chown "$kuid:$kgid" "$sec/$name"; chmod 0600 "$sec/$name"
  done
  if [ ! -e "$etc/kiosk/kiosk.toml.d/10-center-secrets.toml" ]; then
    printf '%s\n' "# Written by scripts/install.sh: the center's secrets live apart from its data." \
      "[center_server]" 'secrets_dir = "/etc/kiosk/center-secrets"' > "$tmp/10-center-secrets.toml"
    put 0644 "$tmp/10-center-secrets.toml" "$etc/kiosk/kiosk.toml.d/10-center-secrets.toml"
  fi

  # The commented default config, written once: a booth's edits are never lost.
  if [ ! -e "$etc/kiosk/kiosk.toml" ]; then
    "$py" -c 'import sys; from kiosk.cli.config import render_defaults; sys.stdout.write(render_defaults())' \
      > "$tmp/kiosk.toml"
    put 0644 "$tmp/kiosk.toml" "$etc/kiosk/kiosk.toml"
    say "wrote the commented default /etc/kiosk/kiosk.toml"
  fi

  # Every process (services, and root's `kiosk` over SSH) agrees on the state dir.
  if [ ! -e "$etc/kiosk/kiosk.toml.d/00-appliance.toml" ]; then
    printf '%s\n' "# Written by scripts/install.sh: the services' StateDirectory, also for" \
      "# \`kiosk\` commands a technician runs as root." "[paths]" 'state_dir = "/var/lib/kiosk"' \
      > "$tmp/00-appliance.toml"
    put 0644 "$tmp/00-appliance.toml" "$etc/kiosk/kiosk.toml.d/00-appliance.toml"
  fi

  # udev rules and journald settings rendered from the booth's config.
  KIOSK_CONFIG="$etc/kiosk/kiosk.toml" "$py" "$app/scripts/render_appliance.py" udev \
    > "$tmp/70-kiosk-devices.rules"
  put 0644 "$tmp/70-kiosk-devices.rules" "$etc/udev/rules.d/70-kiosk-devices.rules"
  KIOSK_CONFIG="$etc/kiosk/kiosk.toml" "$py" "$app/scripts/render_appliance.py" journald \
    > "$tmp/journald.conf"
  put 0644 "$tmp/journald.conf" "$etc/systemd/journald.conf.d/kiosk.conf"

  # The technician's `kiosk` command.
  mkdir -p "$root/usr/local/bin"
  ln -sfn /opt/kiosk/current/venv/bin/kiosk "$root/usr/local/bin/kiosk"

  # Keep the desktop's gphoto2 volume monitor off the camera for every user.
  mkdir -p "$etc/systemd/user"
  ln -sfn /dev/null "$etc/systemd/user/gvfs-gphoto2-volume-monitor.service"

  if [ -n "$root" ]; then
    mkdir -p "$etc/systemd/system/multi-user.target.wants"
    for u in "${enabled[@]}"; do
      ln -sfn "/etc/systemd/system/$u" "$etc/systemd/system/multi-user.target.wants/$u"
    done
  else
    systemd-tmpfiles --create "$etc/tmpfiles.d/kiosk.conf" || true
    systemctl daemon-reload
    systemctl enable "${enabled[@]}" >/dev/null 2>&1
    udevadm control --reload || true
    udevadm trigger --action=change --subsystem-match=usb --subsystem-match=input || true
    systemctl restart systemd-journald || true
  fi
}

start_services() {
  [ -z "$root" ] && [ "$start" = 1 ] || return 0
  local u
  for u in "${enabled[@]}"; do
    [ "$u" = kiosk-firstboot.service ] && continue
    systemctl restart "$u"
  done
}

case "$mode" in
  stage) stage_release ;;
  system) install_system; start_services ;;
  full)
    install_packages
    stage_release >/dev/null
    if [ "$switch" = 1 ] || [ ! -L "$opt/current" ]; then switch_current "$version"; fi
    install_system
    start_services
    say "done: release $version in ${opt#"$root"}/releases (root ${root:-/})" ;;
esac
