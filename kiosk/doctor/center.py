"""The collection center answers and accepts this booth's device token."""

from __future__ import annotations

from typing import Any

from kiosk.doctor import FAIL, OK, WARN, CheckResult


def check(settings: Any) -> CheckResult:
    from kiosk.link.client import CenterRefused, CenterUnreachable
    from kiosk.link.connect import is_embedded, make_client
    from kiosk.wiring import state_dir

    embedded = is_embedded(settings)
    where = "embedded center" if embedded else str(settings.get("center.url"))
    if embedded and not (state_dir(settings) / "center" / "embedded.url").exists():
        return CheckResult("center", WARN, "embedded center (center.url empty) is not running",
                           "it runs inside the screen (kiosk-ui); a booth with a central "
                           "server sets center.url")
    try:
        client = make_client(settings)
    except CenterUnreachable as exc:
        return CheckResult("center", FAIL, f"{where}: {exc.detail}",
                           "start the screen or kiosk-center, or set center.url")
    except Exception as exc:  # noqa: BLE001 - e.g. no device token
        return CheckResult("center", FAIL, f"{where}: {getattr(exc, 'detail', '') or exc}",
                           "provision the booth: put the token in /etc/kiosk/device-token "
                           "(root, mode 0600) or boot with kiosk-provision.toml")
    if not client.healthz():
        return CheckResult("center", FAIL, f"{where}: no answer to /healthz",
                           "check the network, DNS, the URL and the center's TLS certificate "
                           "(docs/appliance.md)")
    try:
        keys = client.keys()
    except CenterRefused as exc:
        return CheckResult("center", FAIL, f"{where}: reachable, but refused the booth "
                           f"(HTTP {exc.status} {exc.code})",
                           "the device token is wrong or revoked: get a new one from the center")
    except CenterUnreachable as exc:
        return CheckResult("center", FAIL, f"{where}: {exc.detail}", "check the network")
    return CheckResult("center", OK, f"{where}: reachable, token accepted, "
                       f"{len(keys)} poster key(s)")
