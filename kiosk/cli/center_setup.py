"""The center as the ``kiosk center`` commands start it: its settings and its ``Center``.

The ``[center_server]`` table and the state directory come from this program's
parsed settings; the command's ``--data``, ``--db``, ``--host``, ``--port`` and
``--workers`` win. Tests and benchmarks that start a center use
``center_settings`` too, so they get it the way the command does.
``proxy_options`` is what uvicorn is told of the reverse proxies in front.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def center_settings(data_dir: str | Path | None = None, db_url: str | None = None,
                    overrides: dict | None = None):  # noqa: ANN201 - CenterSettings, lazily
    """From this program's parsed settings (``[center_server]``, ``paths.state_dir``)."""
    from center.settings import CenterSettings
    from kiosk.settings import load_settings
    from kiosk.wiring import state_dir

    settings = load_settings()
    return CenterSettings.from_section(settings.section("center_server"), data_dir, db_url,
                                       overrides, state_dir=state_dir(settings))


def settings_from_args(args: argparse.Namespace):  # noqa: ANN201 - CenterSettings, lazily
    """``center_settings`` with the command's options."""
    over = {}
    for key in ("host", "port", "workers"):
        value = getattr(args, key, None)
        if value is not None:
            over[key] = value
    return center_settings(data_dir=args.data, db_url=args.db, overrides=over)


def proxy_options(settings) -> dict:  # noqa: ANN001 - CenterSettings, lazily
    """uvicorn's options for ``[center_server] trusted_proxies``.

    X-Forwarded-For is believed only from these addresses (the TLS proxy:
    loopback by default, the proxy's LAN address when it runs on another host);
    from anyone else it is ignored, so a caller cannot pick the address the
    console's per-address login throttle counts. Passed explicitly, so the
    process environment (uvicorn's FORWARDED_ALLOW_IPS) plays no part.
    """
    trusted = [str(a) for a in settings.get("trusted_proxies", ["127.0.0.1"])]
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}


def open_center(args: argparse.Namespace):  # noqa: ANN201 - center.service.Center
    from center.service import Center

    return Center(settings_from_args(args))
