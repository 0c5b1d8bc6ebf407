"""Tables of the center's database (SQLAlchemy Core; the migrations mirror them).

Times are UTC epoch seconds (floats): the same on SQLite and PostgreSQL and cheap
to compare for lock-outs and link expiry.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

batches = Table(
    "batches",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("feature_code", String(16), nullable=False),
    Column("valid_from", String(10), nullable=False),
    Column("valid_to", String(10), nullable=False),
    Column("created_at", Float, nullable=False),
)

regions = Table(
    "regions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("valid_from", String(10), nullable=False),
    Column("valid_to", String(10), nullable=False),
    Column("created_at", Float, nullable=False),
)

students = Table(
    "students",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("collection_code", String(64), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("id_last4", String(4), nullable=False),
    Column("school", String(200), nullable=False),
    Column("level", String(50), nullable=False),
    Column("major", String(200), nullable=False),
    Column("batch_id", String(64), ForeignKey("batches.id"), nullable=False, index=True),
)

kiosks = Table(
    "kiosks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("token_hash", String(200), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("last_seen", Float),
    Column("heartbeat", Text),
)

reviewers = Table(
    "reviewers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    # may undo any reviewer's decision (before export)
    Column("is_admin", Boolean, nullable=False, default=False, server_default=false()),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_no", String(18), nullable=False, unique=True),
    Column("student_id", Integer, ForeignKey("students.id"), nullable=False, unique=True),
    Column("state", String(20), nullable=False, index=True),
    Column("version", Integer, nullable=False, default=0),
    Column("reason_code", String(50)),
    Column("reason_text", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("exported_at", Float),  # approved photo left in a batch export: no more undo
)

photo_versions = Table(
    "photo_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("version_no", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("kiosk_id", Integer, ForeignKey("kiosks.id")),
    Column("created_at", Float, nullable=False),
    Column("check_state", String(20), nullable=False, index=True),
    Column("check_ok", Boolean),
    Column("check_report", Text),
    # the reviewer this version is handed to, until claim_until (center.review)
    Column("claim_reviewer_id", Integer),
    Column("claimed_at", Float),
    Column("claim_until", Float),
    UniqueConstraint("order_id", "version_no", name="uq_version_order_no"),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version_id", Integer, ForeignKey("photo_versions.id"), nullable=False, index=True),
    Column("reviewer_id", Integer, ForeignKey("reviewers.id"), nullable=False),
    Column("decision", String(10), nullable=False),
    Column("reason_code", String(50)),
    Column("reason_text", Text),
    Column("created_at", Float, nullable=False, index=True),
    Column("reason_codes", Text),  # JSON list of every preset chosen
    Column("undone_at", Float),
    Column("undone_by", String(120)),
)

reprints = Table(
    "reprints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reprint_no", String(18), nullable=False, unique=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, index=True),
    Column("layout", Integer, nullable=False),
    Column("copies", Integer, nullable=False),
    Column("delivery", String(10), nullable=False),
    Column("address", Text),
    Column("state", String(20), nullable=False),
    Column("kiosk_id", Integer, ForeignKey("kiosks.id")),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

email_requests = Table(
    "email_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("email", String(254), nullable=False),
    Column("state", String(10), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("last_error", Text),
    Column("created_at", Float, nullable=False),
    Column("sent_at", Float),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("kiosk_id", Integer, ForeignKey("kiosks.id"), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

identify_limits = Table(
    "identify_limits",
    metadata,
    Column("scope", String(100), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),
    Column("window_start", Float, nullable=False),
    Column("calls", Integer, nullable=False, default=0),
    Column("calls_window", Float, nullable=False, default=0.0),
    Column("locked_until", Float, nullable=False, default=0.0),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True),
    Column("actor", String(120), nullable=False),
    Column("action", String(50), nullable=False),
    Column("order_no", String(18)),
    Column("detail", Text),
)

secrets = Table(
    "secrets",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

# Grants (center/grants.py): what a kiosk may do for one identified student.
# Only a SHA-256 of the token is stored; rows past their expiry are purged.
grants = Table(
    "grants",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(10), nullable=False),  # session | upload
    Column("kiosk_id", Integer, ForeignKey("kiosks.id"), nullable=False),
    Column("student_id", Integer, ForeignKey("students.id"), nullable=False),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
    Column("ended_at", Float),
)

# Console sign-ins (center/console/session.py): the cookie holds a random token,
# the row makes it valid; logout deletes the row.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("reviewer_id", Integer, ForeignKey("reviewers.id"), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

# -- photo store (center/storage/database.py) -----------------------------------
# Photo bytes when [center_server.photo_store] backend = "database": a table of
# its own, apart from the orders, keyed by the content hash.
photo_blobs = Table(
    "photo_blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
)

# -- data lifecycle (center/retention.py) ---------------------------------------
# When a batch was last exported and when its photos and personal data were
# purged; when a version's photo was purged (the row stays for the statistics).
batches.append_column(Column("exported_at", Float))
batches.append_column(Column("purged_at", Float))
photo_versions.append_column(Column("purged_at", Float))

# -- compliance-check queue (center/jobs.py) ------------------------------------
# One row per photo version to check. Workers on any host claim rows (PostgreSQL:
# FOR UPDATE SKIP LOCKED) for a lease; a worker that dies leaves its row to
# another once lease_until has passed. Finished rows stay a day (who checked it,
# how many attempts), then the sweep removes them.
check_jobs = Table(
    "check_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "version_id",
        Integer,
        ForeignKey("photo_versions.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("state", String(20), nullable=False),  # queued | running | done
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_by", String(100)),
    Column("lease_until", Float),
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float),
    Index("ix_check_jobs_state_id", "state", "id"),
)
