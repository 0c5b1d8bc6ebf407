"""``kiosk photo``: make a standard photo from an image, check a JPEG, run the samples.

Exit codes: 0 compliant, 1 no compliant photo can be made (the report says
why), 2 unreadable input, 3 other expected error. On failure no output file is
written; bad input never prints a traceback.

``--json`` prints one object: ``ok`` (bool), ``exit`` (the exit code), and
``report`` with ``spec``, ``ok``, ``failed`` and ``warned`` (item names) and
``items`` (each ``name``, ``label_zh``/``label_en``, ``value``, ``limit``,
``verdict`` pass/warn/fail, ``reason`` (e.g. low/high/too_far) and the
``zh``/``en`` sentence that says what to do). ``make`` adds ``output``,
``bytes``, ``quality``, ``master`` and ``timings_ms`` on success; failures
add ``error`` with ``code``, ``zh``, ``en`` and ``detail``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kiosk.cli import EXIT_ERROR, EXIT_NONCOMPLIANT, EXIT_OK, EXIT_UNREADABLE
from kiosk.errors import KioskError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("photo", help="make or check a standard photo")
    cmds = parser.add_subparsers(dest="photo_command", metavar="ACTION")

    make = cmds.add_parser("make", help="make a compliant 480x640 photo from an image")
    make.add_argument("input", type=Path, help="captured image (JPEG, PNG, ...)")
    make.add_argument("-o", "--output", type=Path, required=True, help="where to write the JPEG")
    make.add_argument(
        "--spec", default=None, help="spec name in config/specs (default: photo.spec)"
    )
    make.add_argument(
        "--master", type=Path, default=None, help="also write the matted master PNG here"
    )
    make.add_argument("--json", action="store_true", help="print the result as JSON")
    make.set_defaults(func=cmd_make)

    chk = cmds.add_parser("check", help="check an existing JPEG the way the center does")
    chk.add_argument("photo", type=Path)
    chk.add_argument("--spec", default=None)
    chk.add_argument("--json", action="store_true")
    chk.set_defaults(func=cmd_check)

    smp = cmds.add_parser("samples", help="run the pipeline over the sample portraits")
    smp.add_argument(
        "-o", "--output", type=Path, required=True, help="directory for photos and report"
    )
    smp.add_argument("--spec", default=None)
    smp.add_argument(
        "--portraits", type=Path, default=None, help="folder of portraits (default: shared samples)"
    )
    smp.set_defaults(func=cmd_samples)
    parser.set_defaults(func=lambda args: (parser.print_help(), EXIT_ERROR)[1])


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print(text)


def _error_payload(exc: KioskError, code: int) -> dict[str, Any]:
    return {"ok": False, "exit": code, "error": exc.as_dict()}


def cmd_make(args: argparse.Namespace) -> int:
    from durable import write_durable
    from kiosk.photo.imageio import UnreadableImage
    from kiosk.photo.master import save_master
    from kiosk.photo.pipeline import PhotoRefused, make_photo
    from kiosk.settings import load_settings
    from kiosk.wiring import photo_options, photo_spec

    settings = load_settings()
    spec = photo_spec(settings, args.spec)
    try:
        result = make_photo(args.input, spec, photo_options(settings))
    except UnreadableImage as exc:
        _emit(
            args,
            _error_payload(exc, EXIT_UNREADABLE),
            f"unreadable: {exc.en} / {exc.zh}\n  detail: {exc.detail}",
        )
        return EXIT_UNREADABLE
    except PhotoRefused as exc:
        payload = _error_payload(exc, EXIT_NONCOMPLIANT) | {"report": exc.report.as_dict()}
        _emit(args, payload, f"{exc.report.text()}\nnot made: {exc.en} / {exc.zh}")
        return EXIT_NONCOMPLIANT
    try:
        if args.master:
            save_master(result.master, args.master)
        write_durable(args.output, result.jpeg, 0o644)
    except OSError as exc:
        if args.master:
            args.master.unlink(missing_ok=True)  # all or nothing
        print(f"kiosk: cannot write output: {exc}", file=sys.stderr)
        return EXIT_ERROR
    payload = {
        "ok": True,
        "exit": EXIT_OK,
        "output": str(args.output),
        "bytes": len(result.jpeg),
        "quality": result.quality,
        "master": str(args.master) if args.master else None,
        "timings_ms": {k: round(v * 1000, 1) for k, v in result.timings.items()},
        "report": result.report.as_dict(),
    }
    _emit(
        args,
        payload,
        f"{result.report.text()}\nwrote {args.output} ({len(result.jpeg)} bytes, quality {result.quality})",
    )
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from kiosk.photo.check import check_jpeg
    from kiosk.photo.imageio import UnreadableImage, read_input
    from kiosk.settings import load_settings
    from kiosk.wiring import decode_limits, photo_spec

    settings = load_settings()
    spec, limits = photo_spec(settings, args.spec), decode_limits(settings)
    try:
        data = read_input(args.photo, limits)  # a regular file only, size-capped, never blocking
        report = check_jpeg(data, spec, limits)
    except OSError as exc:
        exc2 = UnreadableImage(f"cannot read file: {exc.strerror}")
        _emit(
            args,
            _error_payload(exc2, EXIT_UNREADABLE),
            f"unreadable: {exc2.en}\n  detail: {exc2.detail}",
        )
        return EXIT_UNREADABLE
    except UnreadableImage as exc:
        _emit(
            args,
            _error_payload(exc, EXIT_UNREADABLE),
            f"unreadable: {exc.en} / {exc.zh}\n  detail: {exc.detail}",
        )
        return EXIT_UNREADABLE
    code = EXIT_OK if report.ok else EXIT_NONCOMPLIANT
    _emit(args, {"ok": report.ok, "exit": code, "report": report.as_dict()}, report.text())
    return code


def cmd_samples(args: argparse.Namespace) -> int:
    from durable import write_durable
    from kiosk.paths import PORTRAITS_DIR
    from kiosk.photo.imageio import UnreadableImage
    from kiosk.photo.master import save_master
    from kiosk.photo.pipeline import PhotoRefused, make_photo, warm_up
    from kiosk.photo.prints import cut_print
    from kiosk.photo.spec import load_print_sizes
    from kiosk.settings import load_settings
    from kiosk.wiring import photo_options, photo_spec

    settings = load_settings()
    spec, options = photo_spec(settings, args.spec), photo_options(settings)
    folder = args.portraits or PORTRAITS_DIR
    inputs = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not inputs:
        print(f"kiosk: no portraits in {folder}", file=sys.stderr)
        return EXIT_ERROR
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    warm_up()
    rows = []
    for path in inputs:
        row: dict[str, Any] = {"input": path.name}
        try:
            result = make_photo(path, spec, options)
            write_durable(out / f"{path.stem}.jpg", result.jpeg, 0o644)
            save_master(result.master, out / f"{path.stem}_master.png")
            for size in sorted(load_print_sizes()):
                cut_print(result.master, size).save(
                    out / f"{path.stem}_{size}.jpg", quality=92, dpi=(300, 300)
                )
            row |= {"ok": True, "output": f"{path.stem}.jpg", "bytes": len(result.jpeg),
                    "quality": result.quality, "warned": [i.name for i in result.report.warnings],
                    "seconds": round(sum(result.timings.values()), 2)}  # fmt: skip
            rows.append(row | {"report": result.report.as_dict()})
        except PhotoRefused as exc:
            rows.append(row | {"ok": False, "reason": exc.code, "zh": exc.zh, "en": exc.en,
                               "report": exc.report.as_dict()})  # fmt: skip
        except UnreadableImage as exc:
            rows.append(row | {"ok": False, "reason": exc.code, "zh": exc.zh, "en": exc.en})
    write_durable(
        out / "report.json",
        json.dumps({"spec": spec.name, "photos": rows}, ensure_ascii=False, indent=2).encode(),
        0o644,
    )
    lines = [f"{'input':<34} result"]
    for r in rows:
        result_txt = (
            f"OK  {r['output']} {r['bytes'] // 1024} KiB q{r['quality']} {r['seconds']} s"
            + (f" (warn: {', '.join(r['warned'])})" if r["warned"] else "")
            if r["ok"]
            else f"REFUSED {r['reason']}: {r['en']} / {r['zh']}"
        )
        lines.append(f"{r['input']:<34} {result_txt}")
    text = "\n".join(lines)
    write_durable(out / "report.txt", (text + "\n").encode(), 0o644)
    print(text)
    print(f"wrote {sum(r['ok'] for r in rows)} photos and report.json/report.txt to {out}")
    # A script must see that some portraits did not become photos.
    if any("report" not in r for r in rows if not r["ok"]):  # unreadable rows carry no report
        return EXIT_UNREADABLE
    return EXIT_OK if all(r["ok"] for r in rows) else EXIT_NONCOMPLIANT
