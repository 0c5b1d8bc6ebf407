"""``kiosk center ...``: run and administer the collection center.

serve, import-roster, add-kiosk, kiosk disable|enable|rotate-token, add-reviewer, add-batch, add-region,
seed-demo, poster, openapi; backup, restore, purge (kiosk/cli/_center_backup.py);
worker (kiosk/cli/_center_worker.py). Database and data directory come from
``[center_server]`` unless ``--db``/``--data`` say otherwise.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
from pathlib import Path

from kiosk import notices
from kiosk.cli.center_setup import center_settings, open_center, proxy_options, settings_from_args
from kiosk.errors import KioskError


def _serve_error(key: str, **fmt: object) -> KioskError:
    """One line on stderr and exit 3 (kiosk.cli.main), never a traceback."""
    zh, en = notices.words(key)
    return KioskError("center_serve", zh.format(**fmt), en.format(**fmt), "")


def _bind(host: str, port: int) -> socket.socket:
    if not 0 <= port <= 65535:
        raise _serve_error("center_bad_port", port=port)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family = infos[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        raise _serve_error("center_cannot_listen", host=host, port=port,
                           error=exc.strerror or exc) from None
    return sock


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from center.http_protocol import configure
    from center.service import Center

    settings = settings_from_args(args)
    host, port = str(settings.get("host")), int(settings.get("port"))
    sock = _bind(host, port)  # before anything else: a bad port is one line, exit 3
    Center(settings).close()  # migrate and create keys once, before any worker starts
    configure(settings)
    workers = int(settings.get("workers"))
    if workers > 1 and settings.db_url.startswith("sqlite"):
        print(
            "SQLite takes one worker process (writes are serialized in-process); "
            "use PostgreSQL for more",
            file=sys.stderr,
        )
        workers = 1
    print(f"center on http://{host}:{sock.getsockname()[1]}  data {settings.data_dir}",
          file=sys.stderr)
    keep_alive = int(settings.get("limits.keep_alive_seconds", 5))
    if workers > 1:
        sock.close()
        os.environ["KIOSK_CENTER_SETTINGS"] = settings.to_json()
        uvicorn.run(
            "center.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
            timeout_keep_alive=keep_alive,
            http="center.http_protocol:NoDelayH11Protocol",
            **proxy_options(settings),
        )
        return 0
    from center.app import create_app
    from center.http_protocol import NoDelayH11Protocol

    config = uvicorn.Config(
        create_app(settings, migrate=False),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=keep_alive,
        http=NoDelayH11Protocol,
        **proxy_options(settings),
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _import_roster(args: argparse.Namespace) -> int:
    from center.admin import import_roster

    center = open_center(args)
    data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    result = import_roster(center.db, data)
    print(f"{result.added} students added, {result.updated} updated")
    return 0


def _add_kiosk(args: argparse.Namespace) -> int:
    from center.admin import add_kiosk

    token = add_kiosk(open_center(args).db, args.name)
    print(token)
    print("(shown once: put it in /etc/kiosk/device-token on the booth)", file=sys.stderr)
    return 0


def _add_reviewer(args: argparse.Namespace) -> int:
    from center.admin import add_reviewer

    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("passwords differ", file=sys.stderr)
            return 3
    else:
        password = sys.stdin.readline().rstrip("\n")
    add_reviewer(open_center(args).db, args.name, password, admin=args.admin)
    print(f"reviewer {args.name} saved")
    return 0


def _add_context(args: argparse.Namespace) -> int:
    from center.admin import put_context

    put_context(
        open_center(args).db,
        args.kind,
        args.id,
        args.name,
        args.valid_from,
        args.valid_to,
        getattr(args, "feature_code", ""),
    )
    print(f"{args.kind} {args.id} saved")
    return 0


def _kiosk_admin(args: argparse.Namespace) -> int:
    from center.kiosk_admin import apply

    token = apply(open_center(args).db, args.action, args.name)
    if token:
        print(token)
        print("(shown once: put it in /etc/kiosk/device-token on the booth; "
              "the old token is refused from now on)", file=sys.stderr)
    else:
        print(f"kiosk {args.name}: {args.action}d (in effect now)")
    return 0


def _seed_demo(args: argparse.Namespace) -> int:
    from center.demo import seed

    token = seed(open_center(args).db, args.kiosk)
    print("demo batch, region and roster loaded")
    if token:
        print(token)
    return 0


def _poster(args: argparse.Namespace) -> int:
    from center.posters import poster_pdf

    pdf = poster_pdf(open_center(args), args.kind, args.id)
    out = Path(args.output or f"poster-{args.kind}-{args.id}.pdf")
    out.write_bytes(pdf)
    print(out)
    return 0


def _openapi(args: argparse.Namespace) -> int:
    import tempfile

    from center.app import OPENAPI_FILE, create_app, openapi_text

    with tempfile.TemporaryDirectory() as tmp:
        settings = center_settings(data_dir=tmp, overrides={"upload": {"check_workers": 0}})
        app = create_app(settings)
        text = openapi_text(app)
        app.state.center.close()
    if args.write:
        OPENAPI_FILE.write_text(text, encoding="utf-8")
        print(OPENAPI_FILE)
    else:
        sys.stdout.write(text)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("center", help="run and administer the collection center")
    cmds = parser.add_subparsers(dest="center_command", metavar="COMMAND")

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:  # noqa: ANN001
        p = cmds.add_parser(name, help=help_text)
        p.add_argument("--db", help="database URL (default: [center_server] db_url, or SQLite)")
        p.add_argument("--data", help="data directory (photos, keys, SQLite file)")
        p.set_defaults(func=func)
        return p

    p = add("serve", _serve, "run the center (HTTP API, review console)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, help="uvicorn worker processes (PostgreSQL only)")
    p = add("import-roster", _import_roster, "import students from a roster CSV ('-': stdin)")
    p.add_argument("file")
    p = add("add-kiosk", _add_kiosk, "register a kiosk and print its device token once")
    p.add_argument("name")
    p = add("kiosk", _kiosk_admin, "disable, enable or re-key a kiosk (in effect at once)")
    p.add_argument("action", choices=["disable", "enable", "rotate-token"])
    p.add_argument("name")
    p = add(
        "add-reviewer",
        _add_reviewer,
        "create a console user or set a password (from the prompt or stdin)",
    )
    p.add_argument("name")
    role = p.add_mutually_exclusive_group()
    role.add_argument(
        "--admin", dest="admin", action="store_const", const=True,
        help="administrator: also imports rosters, manages kiosks, refunds, undoes anyone",
    )
    role.add_argument(
        "--reviewer", dest="admin", action="store_const", const=False,
        help="reviewer only (the default for a new user; an existing user keeps the role)",
    )
    for kind in ("batch", "region"):
        p = add(f"add-{kind}", _add_context, f"create or update a collection {kind}")
        p.set_defaults(kind=kind)
        p.add_argument("id")
        p.add_argument("--name", required=True)
        p.add_argument("--valid-from", required=True, help="YYYY-MM-DD")
        p.add_argument("--valid-to", required=True, help="YYYY-MM-DD")
        if kind == "batch":
            p.add_argument("--feature-code", required=True, help="the batch's feature code, 4 characters")
    p = add("seed-demo", _seed_demo, "load the demo batch, region and roster (config/demo)")
    p.add_argument("--kiosk", help="also issue a device token for this kiosk name")
    p = add("poster", _poster, "write a batch or region QR poster as PDF")
    p.add_argument("kind", choices=["batch", "region"])
    p.add_argument("id")
    p.add_argument("-o", "--output")
    p = add("openapi", _openapi, "print the OpenAPI document (--write: center/openapi.json)")
    p.add_argument("--write", action="store_true")
    from kiosk.cli._center_backup import register as register_backup

    register_backup(add)  # backup, restore, purge
    from kiosk.cli._center_worker import register as register_worker

    register_worker(add)  # worker: compliance checks from the job queue
