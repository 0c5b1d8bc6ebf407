"""Types, ranges and choices of every key in ``kiosk.toml``, as pydantic models.

The default values stay in ``config/defaults/<section>.toml`` (data, with a
comment per key that is its one-line description); these models say what a
value may be. ``kiosk.settings.parse_settings`` validates the merged defaults
and overrides against them, so a countdown of -5, a camera backend that does
not exist or a NaN frame rate stops a program at start, naming the file, line
and key, instead of running with it. A test keeps the models and the defaults
files to the same keys.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


class _Table(BaseModel):
    # strict: no "3" for 3, no 1 for true; a float field still takes an integer.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _proxy_address(value: str) -> str:
    """An address or network (``10.0.0.5``, ``10.0.0.0/24``); never ``*`` (anyone
    could then choose the address the console's login throttle counts)."""
    import ipaddress

    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or network") from None
    return value


Seconds = Annotated[float, Field(gt=0), AfterValidator(_finite)]
SecondsOrZero = Annotated[float, Field(ge=0), AfterValidator(_finite)]
Count = Annotated[int, Field(ge=0)]
PositiveCount = Annotated[int, Field(ge=1)]
Fraction = Annotated[float, Field(ge=0, le=1), AfterValidator(_finite)]
Port = Annotated[int, Field(ge=1, le=65535)]
PortOrAny = Annotated[int, Field(ge=0, le=65535)]  # 0: let the system choose
Pixels = Annotated[int, Field(ge=1, le=16384)]
JpegQuality = Annotated[int, Field(ge=1, le=100)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", max_length=64)]
Level = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL",
                "debug", "info", "warning", "error", "critical"]


def _http_url(value: str) -> str:
    """Empty (not set) or an http(s) URL without spaces."""
    if value and not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(/[^\s]*)?", value):
        raise ValueError("must be empty or an http:// or https:// URL without spaces")
    return value


Url = Annotated[str, AfterValidator(_http_url)]


# The drivers' own list is hardware.cameras.BACKENDS; settings may not import
# the drivers (a center host has none), so a test keeps the two the same.
CameraBackend = Literal["simulated", "opencv", "gphoto2", "picamera2", "hybrid"]


def _pin_hash(value: str) -> str:
    if not re.fullmatch(r"pbkdf2_sha256\$\d{4,7}\$[0-9a-f]{8,}\$[0-9a-f]{64}", value):
        raise ValueError("must be a hash made by `kiosk run --hash-pin`, never the PIN itself")
    return value


# -- appliance -------------------------------------------------------------------
class Udev(_Table):
    scanner_vendors: list[Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{4}$")]]
    extra_cameras: list[Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{4}(:[0-9A-Fa-f]{4})?$")]]


class Support(_Table):
    journal_lines: Annotated[int, Field(ge=1, le=1_000_000)]
    journal_since: str
    units: list[str]


class Appliance(_Table):
    release_root: str
    keep_releases: Annotated[int, Field(ge=1, le=20)]
    health_timeout: Seconds
    udev: Udev
    support: Support


# -- camera ----------------------------------------------------------------------
class Simulated(_Table):
    source: str
    fps: Annotated[float, Field(ge=0, le=240), AfterValidator(_finite)]  # 0: the clip's own
    still_seconds: SecondsOrZero
    cache_dir: str
    portraits_dir: str
    jpeg_quality: JpegQuality
    width: Pixels
    height: Pixels


class OpenCv(_Table):
    device: str
    width: Pixels
    height: Pixels
    fps: Annotated[float, Field(gt=0, le=240), AfterValidator(_finite)]
    fourcc: Annotated[str, Field(pattern=r"^[A-Za-z0-9 ]{4}$")]
    exposure: Annotated[float, AfterValidator(_finite)]
    jpeg_quality: JpegQuality


class Gphoto2(_Table):
    port: str
    models_dir: str
    live_view: bool
    delete_after_capture: bool
    settings: dict[str, Any]


class Picamera2(_Table):
    camera_num: Annotated[int, Field(ge=0, le=16)]
    width: Pixels
    height: Annotated[int, Field(ge=0, le=16384)]  # 0: the still's aspect
    still_width: Annotated[int, Field(ge=0, le=16384)]  # 0: the sensor's full size
    still_height: Annotated[int, Field(ge=0, le=16384)]
    jpeg_quality: JpegQuality


class Hybrid(_Table):
    preview_backend: CameraBackend


class Camera(_Table):
    backend: CameraBackend
    preview_timeout: Seconds
    capture_timeout: Seconds
    open_timeout: Seconds
    backoff_initial: Seconds
    backoff_max: Seconds
    fail_after: PositiveCount
    simulated: Simulated
    opencv: OpenCv
    gphoto2: Gphoto2
    picamera2: Picamera2
    hybrid: Hybrid

    @model_validator(mode="after")
    def _backoff_order(self) -> Camera:
        if self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_max must not be below backoff_initial")
        if self.hybrid.preview_backend == "hybrid":
            raise ValueError("hybrid.preview_backend cannot itself be hybrid")
        return self


# -- center (the kiosk's link) ---------------------------------------------------
class Center(_Table):
    url: Url
    connect_timeout_s: Seconds
    read_timeout_s: Seconds
    upload_timeout_s: Seconds
    token_file: str
    heartbeat_interval_s: Seconds
    embedded_port: PortOrAny


# -- center_server ---------------------------------------------------------------
class Identify(_Table):
    code_max_failures: PositiveCount
    code_lockout_minutes: Annotated[int, Field(ge=1)]
    kiosk_max_failures: PositiveCount
    kiosk_window_minutes: Annotated[int, Field(ge=1)]
    kiosk_lockout_minutes: Annotated[int, Field(ge=1)]
    kiosk_max_per_minute: PositiveCount


class Upload(_Table):
    spec: Name
    max_bytes: Annotated[int, Field(ge=1, le=50 * 1024 * 1024)]
    check_workers: Annotated[int, Field(ge=0, le=64)]
    check_quiet_seconds: SecondsOrZero
    check_max_defer_seconds: SecondsOrZero
    check_in_process: bool
    check_lease_seconds: Annotated[float, Field(ge=1, le=3600), AfterValidator(_finite)]
    check_poll_seconds: Seconds
    check_max_attempts: Annotated[int, Field(ge=1, le=20)]

    @model_validator(mode="after")
    def _window(self) -> Upload:
        if self.max_bytes < 40_960:
            raise ValueError("max_bytes must leave room for a 40 KiB photo (at least 40960)")
        return self


class PhotoStoreS3(_Table):
    endpoint_url: Url
    bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")]
    region: str
    access_key_id: str
    secret_access_key: str
    prefix: Annotated[str, Field(pattern=r"^([A-Za-z0-9_.\-]+/)*$", max_length=200)]
    connect_timeout_s: Seconds
    read_timeout_s: Seconds
    max_attempts: Annotated[int, Field(ge=1, le=10)]
    create_bucket: bool


class PhotoStore(_Table):
    backend: Literal["local", "database", "s3"]
    s3: PhotoStoreS3


class CenterMetrics(_Table):
    token: Annotated[str, Field(pattern=r"^([A-Za-z0-9._~+/=-]{16,200})?$")]


class Retention(_Table):
    enabled: bool
    purge_after_days: Annotated[float, Field(ge=0, le=3650), AfterValidator(_finite)]


class Smtp(_Table):
    host: str
    port: Port
    starttls: bool
    username: str
    password: str
    from_addr: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]
    subject: str
    retry_seconds: PositiveCount
    max_attempts: PositiveCount
    timeout: PositiveCount


class Reprint(_Table):
    layouts: list[Annotated[int, Field(ge=1)]]
    max_copies: Annotated[int, Field(ge=1, le=100)]


class Reason(_Table):
    code: Name
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]
    note_required: bool = False  # the reviewer must write a note with it


Band = Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=2, max_length=2)]


class Review(_Table):
    hair_top: Band
    eye_line: Band
    face_width: Band
    claim_seconds: Annotated[int, Field(ge=10, le=3600)]
    guard_ms: Annotated[int, Field(ge=0, le=5000)]
    undo_minutes: Annotated[int, Field(ge=0, le=1440)]
    face_change_threshold: Annotated[float, Field(gt=0, le=1), AfterValidator(_finite)]
    poll_seconds: Annotated[int, Field(ge=1, le=600)]
    batch_page_rows: Annotated[int, Field(ge=5, le=1000)]
    roster_max_bytes: Annotated[int, Field(ge=1024, le=100 * 1024 * 1024)]
    roster_max_rows: Annotated[int, Field(ge=1, le=1_000_000)]
    reasons: list[Reason]


class Grants(_Table):
    session_minutes: Annotated[int, Field(ge=1, le=24 * 60)]
    upload_ticket_hours: Annotated[int, Field(ge=1, le=24 * 30)]


class BodyLimits(_Table):
    body_max_bytes: Annotated[int, Field(ge=1024, le=100 * 1024 * 1024)]
    roster_max_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024 * 1024)]
    body_idle_seconds: Seconds
    header_timeout_seconds: Seconds
    keep_alive_seconds: Seconds
    max_connections: Annotated[int, Field(ge=10, le=1_000_000)]


class Console(_Table):
    login_pair_failures: PositiveCount
    login_source_failures: PositiveCount
    login_account_failures: PositiveCount
    login_window_minutes: Annotated[int, Field(ge=1, le=24 * 60)]
    login_account_slowdown_seconds: Annotated[int, Field(ge=0, le=600)]
    session_hours: Annotated[int, Field(ge=1, le=24 * 7)]


class CenterServer(_Table):
    host: str
    port: Port
    workers: Annotated[int, Field(ge=1, le=64)]
    trusted_proxies: list[Annotated[str, AfterValidator(_proxy_address)]]
    db_url: str
    data_dir: str
    public_url: Url
    download_link_minutes: Annotated[int, Field(ge=1)]
    api_threads: Annotated[int, Field(ge=1, le=256)]
    secrets_dir: str
    identify: Identify
    grants: Grants
    limits: BodyLimits
    console: Console
    upload: Upload
    photo_store: PhotoStore
    metrics: CenterMetrics
    retention: Retention
    smtp: Smtp
    reprint: Reprint
    review: Review


class CenterWorker(_Table):
    metrics_host: Annotated[str, Field(min_length=1, max_length=255)]
    metrics_port: PortOrAny
    metrics_token: Annotated[str, Field(pattern=r"^([A-Za-z0-9._~+/=-]{16,200})?$")]


# -- doctor ----------------------------------------------------------------------
class DoctorScanner(_Table):
    required: bool


class DoctorDisk(_Table):
    warn_mb: Count
    fail_mb: Count


class DoctorClock(_Table):
    min_year: Annotated[int, Field(ge=2000, le=9999)]
    require_ntp: bool


class DoctorOutbox(_Table):
    warn_depth: Count
    fail_depth: Count


class DoctorFonts(_Table):
    sample: Annotated[str, Field(min_length=1)]


class Doctor(_Table):
    checks: list[Name]
    smoke_checks: list[Name]
    timeout: Seconds
    scanner: DoctorScanner
    disk: DoctorDisk
    clock: DoctorClock
    outbox: DoctorOutbox
    fonts: DoctorFonts


# -- logging ---------------------------------------------------------------------
class Journal(_Table):
    persistent: bool
    max_use: Annotated[str, Field(pattern=r"^\d+[KMG]?$")]
    rate_limit_burst: Count


class Logging(_Table):
    level: Level
    loggers: dict[str, Level]
    journal: Journal


# -- operator --------------------------------------------------------------------
class Operator(_Table):
    pin_hash: Annotated[str, AfterValidator(_pin_hash)]
    max_attempts: PositiveCount
    lockout_seconds: Seconds
    idle: Seconds
    shutdown_command: str


# -- outbox ----------------------------------------------------------------------
class Outbox(_Table):
    backoff_base_s: Seconds
    backoff_max_s: Seconds
    jitter: Fraction
    retention_after_ack_h: SecondsOrZero
    lease_s: Seconds
    orphan_grace_s: Seconds
    cleanup_interval_s: Seconds
    idle_poll_s: Seconds
    reserve_mb: Annotated[float, Field(ge=0, le=1024), AfterValidator(_finite)]
    metrics_host: Annotated[str, Field(min_length=1, max_length=255)]
    metrics_port: PortOrAny
    metrics_token: Annotated[str, Field(pattern=r"^([A-Za-z0-9._~+/=-]{16,200})?$")]

    @model_validator(mode="after")
    def _backoff_order(self) -> Outbox:
        if self.backoff_max_s < self.backoff_base_s:
            raise ValueError("backoff_max_s must not be below backoff_base_s")
        return self


class Paths(_Table):
    state_dir: str


# -- photo -----------------------------------------------------------------------
class Guidance(_Table):
    stable_frames: PositiveCount
    switch_frames: PositiveCount
    margin: Count
    pose_factor: Annotated[float, Field(gt=0, le=1), AfterValidator(_finite)]
    mouth_factor: Annotated[float, Field(gt=0, le=1), AfterValidator(_finite)]
    near_factor: Annotated[float, Field(ge=1, le=3), AfterValidator(_finite)]
    still_motion: Fraction
    analysis_width: Annotated[int, Field(ge=160, le=4096)]
    hair_threshold: Fraction
    seg_every: PositiveCount
    count_every: PositiveCount
    blur_factor: Annotated[float, Field(gt=0, le=1), AfterValidator(_finite)]
    blur_power: Annotated[float, Field(ge=0, le=4), AfterValidator(_finite)]
    blur_floor: Annotated[float, Field(ge=0, le=1), AfterValidator(_finite)]
    blur_sure: Annotated[float, Field(gt=0, le=1), AfterValidator(_finite)]


class Photo(_Table):
    spec: Name
    background: Annotated[str, Field(pattern=r"^([a-z_]*|#[0-9a-fA-F]{6})$")]
    size_min_kb: Count
    size_max_kb: Count
    model_max_side: Annotated[int, Field(ge=128, le=4096)]
    max_megapixels: Annotated[float, Field(gt=0, le=1000), AfterValidator(_finite)]
    max_megapixels_other: Annotated[float, Field(gt=0, le=1000), AfterValidator(_finite)]
    min_side: Annotated[int, Field(ge=16)]
    max_file_mb: Annotated[float, Field(gt=0, le=2048), AfterValidator(_finite)]
    max_jpeg_scans: Annotated[int, Field(ge=1, le=10000)]
    decode_timeout_s: Seconds
    master_height: Annotated[int, Field(ge=640, le=8000)]
    master_source_ratio: Annotated[float, Field(gt=0, le=1), AfterValidator(_finite)]
    crop_fill_guess: Annotated[float, Field(gt=0, le=1), AfterValidator(_finite)]
    guidance: Guidance

    @model_validator(mode="after")
    def _size_window(self) -> Photo:
        if self.size_min_kb and self.size_max_kb and self.size_max_kb <= self.size_min_kb:
            raise ValueError("size_max_kb must be above size_min_kb")
        return self


# -- printer, scanner ------------------------------------------------------------
class Printer(_Table):
    queue: str
    server: str
    media: Annotated[str, Field(min_length=1)]
    stall_timeout: Seconds
    busy_timeout: Seconds
    job_timeout: Seconds
    poll_interval: Seconds
    journal: Annotated[str, Field(min_length=1)]
    extra_options: dict[str, str]


class Scanner(_Table):
    decoder: Literal["zxing", "pyzbar"]
    every_nth_frame: PositiveCount
    wedge_device: str
    wedge_name: str
    wedge_gap: Seconds
    code_min_length: Annotated[int, Field(ge=4, le=256)]
    code_max_length: Annotated[int, Field(ge=4, le=256)]
    code_charset: Annotated[str, Field(min_length=10)]
    code_require_letter: bool
    max_payload_bytes: Annotated[int, Field(ge=64, le=65536)]
    context_public_keys: list[str]

    @model_validator(mode="after")
    def _lengths(self) -> Scanner:
        if self.code_max_length < self.code_min_length:
            raise ValueError("code_max_length must not be below code_min_length")
        return self


# -- session ---------------------------------------------------------------------
class Idle(_Table):
    default: Seconds
    review: Seconds
    capture: Seconds
    submitted: Seconds
    printing: Seconds


class Limits(_Table):
    retakes: Annotated[int, Field(ge=0, le=100)]
    max_copies: Annotated[int, Field(ge=1, le=100)]
    wrong_entries: PositiveCount


class Booth(_Table):
    context_kind: Literal["", "batch", "region"]
    context_id: str
    context_name: str
    feature_required: bool
    help_line: str
    opening_hours: str


class Session(_Table):
    idle: Idle
    limits: Limits
    booth: Booth


class Sheets(_Table):
    cut_marks: bool
    cut_mark_length: Annotated[int, Field(ge=1, le=200)]
    cut_mark_grey: Annotated[int, Field(ge=0, le=255)]
    jpeg_quality: JpegQuality
    layouts_dir: str


# -- ui --------------------------------------------------------------------------
class Preview(_Table):
    width: Annotated[int, Field(ge=160, le=4096)]
    mirror: bool
    fps: Annotated[float, Field(gt=0, le=240), AfterValidator(_finite)]


TextSize = Annotated[float, Field(ge=8, le=600), AfterValidator(_finite)]


class CaptureText(_Table):
    instruction_sp: TextSize
    arrow_sp: TextSize
    countdown_sp: TextSize
    notice_sp: TextSize
    panel_dp: Annotated[float, Field(ge=200, le=2000), AfterValidator(_finite)]


class Capture(_Table):
    countdown: Annotated[int, Field(ge=0, le=10)]
    auto: bool
    manual_shutter: bool
    text: CaptureText


class Gesture(_Table):
    corner: Literal["top_left", "top_right", "bottom_left", "bottom_right"]
    hold_seconds: Annotated[float, Field(gt=0, le=30), AfterValidator(_finite)]
    size: Annotated[int, Field(ge=20, le=400)]


class Keyboard(_Table):
    email_shortcuts: list[Annotated[str, Field(min_length=1, max_length=32)]]


class Speech(_Table):
    enabled: bool
    voice_zh: str
    voice_en: str
    rate: Annotated[int, Field(ge=50, le=500)]
    volume: Annotated[int, Field(ge=0, le=200)]
    min_gap: SecondsOrZero
    settle: SecondsOrZero
    repeat_after: Seconds
    player: Annotated[list[str], Field(min_length=1)]


class Ui(_Table):
    language: Literal["zh", "en"]
    fullscreen: bool
    width: Annotated[int, Field(ge=320, le=16384)]
    height: Annotated[int, Field(ge=240, le=16384)]
    hide_cursor: bool
    multisamples: Annotated[int, Field(ge=0, le=16)]
    scale: Annotated[float, Field(ge=0, le=4), AfterValidator(_finite)]  # 0: from the panel
    preview: Preview
    capture: Capture
    gesture: Gesture
    keyboard: Keyboard
    speech: Speech


class KioskSettings(_Table):
    """All of ``kiosk.toml``: one attribute per ``[section]`` (one defaults file each)."""

    appliance: Appliance
    camera: Camera
    center: Center
    center_server: CenterServer
    center_worker: CenterWorker
    doctor: Doctor
    logging: Logging
    operator: Operator
    outbox: Outbox
    paths: Paths
    photo: Photo
    printer: Printer
    scanner: Scanner
    session: Session
    sheets: Sheets
    ui: Ui

    @model_validator(mode="after")
    def _across_sections(self) -> KioskSettings:
        # A lease shorter than an upload lets a second drainer start the same
        # upload while the first is still sending it.
        if self.outbox.lease_s <= self.center.upload_timeout_s:
            raise ValueError(
                f"outbox.lease_s ({self.outbox.lease_s:g}) must be above "
                f"center.upload_timeout_s ({self.center.upload_timeout_s:g})")
        return self
