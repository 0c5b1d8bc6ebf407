"""What a program builds from its parsed settings, to pass down to the parts.

The composition roots (``kiosk/cli``, ``kiosk/app``) parse the settings once
(``kiosk.settings.load_settings``) and call these to turn tables into the values
the parts take: the state directory, the photo spec with the booth's overrides,
the pipeline's options and decode limits, the guide's options, the camera's
options. Tables a part takes as they are (``[scanner]`` rules, ``[sheets]``,
``[center_server]``) are handed over directly. This module loads no settings:
it converts a ``Settings`` it is given, so the booth's assembly
(``kiosk.services.booth``) may use it too; the folders it fills in come from
``kiosk.paths``, the one module that honours ``KIOSK_STATE_DIR`` and its kin.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from kiosk import paths


def fill(cls: type, values: dict[str, Any], **extra: Any) -> Any:
    """An options dataclass from a config table whose keys are its field names.

    The dataclass's own defaults stand for keys the table lacks, so code and
    tests can build one without any config at all.
    """
    kwargs = dict(extra)
    for f in dataclasses.fields(cls):
        if f.name in values and f.name not in kwargs:
            default = f.default if f.default is not dataclasses.MISSING else None
            value = values[f.name]
            kwargs[f.name] = type(default)(value) if isinstance(default, int | float) else value
    return cls(**kwargs)


def state_dir(settings: Any) -> Path:
    """The booth's state directory (``paths.state_dir``, or the environment's)."""
    return paths.state_dir(settings.get("paths.state_dir"))


def photo_spec(settings: Any, name: str | None = None) -> Any:
    """The spec named ``name`` or ``photo.spec``, with the booth's ``[photo]`` overrides."""
    from kiosk.photo.spec import load_spec

    return load_spec(name or str(settings.get("photo.spec")), overrides=settings.section("photo"))


def decode_limits(settings: Any) -> Any:
    """What a decode accepts (``kiosk.photo.imageio.Limits``), from the ``[photo]`` table."""
    from kiosk.photo.imageio import Limits

    return fill(Limits, settings.section("photo"))


def photo_options(settings: Any) -> Any:
    """The pipeline's ``Options`` (with its decode limits), from the ``[photo]`` table.

    Imports the pipeline (and its models' libraries): call it where the photo
    is made, not on the UI thread.
    """
    from kiosk.photo.pipeline import Options

    return fill(Options, settings.section("photo"), limits=decode_limits(settings))


def guide_options(settings: Any) -> Any:
    """The live guide's ``GuideOptions``, from the ``[photo.guidance]`` table."""
    from kiosk.photo.guidance import GuideOptions

    return fill(GuideOptions, settings.section("photo").get("guidance", {}))


def camera_options(settings: Any) -> dict[str, Any]:
    """The ``[camera]`` table for ``hardware.cameras.open_camera``, with the simulated
    camera's empty ``portraits_dir``/``cache_dir`` filled from the kiosk's paths
    (the drivers read no environment of their own)."""
    options = settings.section("camera")
    sim = options.setdefault("simulated", {})
    sim["portraits_dir"] = sim.get("portraits_dir") or str(paths.PORTRAITS_DIR)
    sim["cache_dir"] = sim.get("cache_dir") or str(paths.cache_dir())
    return options
