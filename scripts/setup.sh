#!/usr/bin/env bash
# One-time (idempotent) set-up: system packages when run as root, the virtual
# environment with the pinned Python packages, the Simplified Chinese font face.
# Network steps retry, because a booth's or CI's network blips.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
venv=${KIOSK_VENV:-$here/.venv}

retry() {  # retry N CMD...: run CMD up to N times with growing pauses
  local n=$1 i=1; shift
  until "$@"; do
    if (( i >= n )); then return 1; fi
    echo "setup: '$1' failed (try $i/$n), retrying in $((i * 15)) s" >&2
    sleep $((i * 15)); i=$((i + 1))
  done
}

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  mapfile -t pkgs < <(grep -v '^\s*#' scripts/apt-packages.txt | grep -v '^\s*$')
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    retry 6 apt-get -o Acquire::Retries=5 update -q
    retry 6 apt-get -o Acquire::Retries=5 install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
stamp="$venv/.kiosk-requirements"
want=$(cat requirements/*.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  pipargs=(--retries 10 --timeout 60 --disable-pip-version-check -q)
  retry 6 "$venv/bin/pip" install "${pipargs[@]}" -r requirements/all.txt
  # Its declared opencv-python would be a second cv2 beside opencv-contrib-python.
  retry 6 "$venv/bin/pip" install "${pipargs[@]}" --no-deps -r requirements/test-nodeps.txt
  retry 2 "$venv/bin/pip" install "${pipargs[@]}" --no-deps -e .
  echo "$want" > "$stamp"
fi
"$venv/bin/python" -m kiosk.fonts --ensure
