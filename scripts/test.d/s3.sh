# Sourced by scripts/test: an S3-compatible endpoint over real HTTP on loopback
# for the center's photo-store tests (moto's server mode, pinned in
# requirements/test.txt). No MinIO is packaged in the registries these machines
# reach. Idempotent: reuses a running server. Exports KIOSK_TEST_S3_URL.
# Without it, tests/center/s3.py starts a private moto server per test session.
# shellcheck shell=bash
kiosk_s3_setup() {
  local dir=/tmp/kiosk-test-s3 port=54339 url
  url="http://127.0.0.1:$port"
  if [ ! -x .venv/bin/moto_server ]; then
    echo "s3.sh: moto_server not installed; tests start their own S3 endpoint" >&2
    return 0
  fi
  mkdir -p "$dir"
  if ! curl -fsS -o /dev/null "$url/moto-api/" 2>/dev/null; then
    nohup .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid"
    local i
    for i in $(seq 1 100); do
      curl -fsS -o /dev/null "$url/moto-api/" 2>/dev/null && break
      sleep 0.1
    done
  fi
  if curl -fsS -o /dev/null "$url/moto-api/" 2>/dev/null; then
    export KIOSK_TEST_S3_URL="$url"
  else
    echo "s3.sh: moto server did not start, see $dir/server.log" >&2
  fi
}
kiosk_s3_setup
