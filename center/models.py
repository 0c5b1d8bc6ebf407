"""Request and response bodies of API v1 (they make the OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CODE_PATTERN = r"^[A-Za-z0-9]{6,64}$"
Code = Field(pattern=CODE_PATTERN, description="The student's image collection code.")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContextRef(Strict):
    kind: Literal["batch", "region"]
    id: str = Field(min_length=1, max_length=64)


class IdentifyIn(Strict):
    collection_code: str = Code
    id_last4: str = Field(pattern=r"^[0-9]{3}[0-9Xx]$", description="Last 4 ID characters.")
    feature_code: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9]{4}$", description="The batch's feature code; required in a batch."
    )
    context: ContextRef


class CodeIn(Strict):
    collection_code: str = Code


class Order(BaseModel):
    order_no: str = Field(description="yyMMddHHmmss + 6 digits")
    state: Literal["awaiting_photo", "pending_review", "rejected", "processing", "completed"]
    label: str = Field(description="The state's Chinese label (config/messages/center.toml).")
    reason_code: str | None
    reason_text: str | None
    version: int
    can_withdraw: bool
    can_retake: bool
    can_reprint: bool


class Student(BaseModel):
    masked_name: str
    school: str
    level: str
    major: str


class Token(BaseModel):
    token: str = Field(description="Send it as the X-Kiosk-Grant header.")
    expires_at: str = Field(description="ISO 8601, UTC")


class IdentifyOut(BaseModel):
    student: Student
    order: Order
    grant: Token = Field(
        description="Session grant: status, upload, withdraw, download link, e-mail, reprint "
        "of this order from this kiosk; end it with POST /api/v1/grants/end."
    )
    upload_ticket: Token = Field(
        description="Good only for uploading this order's photo from this kiosk (the outbox "
        "keeps it with a queued photo)."
    )


class EndOut(BaseModel):
    ended: Literal[True]


class OrderOut(BaseModel):
    order: Order


class ReprintIn(Strict):
    collection_code: str = Code
    layout: int = Field(ge=1, le=99, description="Layout number (config/layouts/).")
    copies: int = Field(ge=1, le=100)
    delivery: Literal["booth", "mail"]
    address: str | None = Field(default=None, max_length=500)


class ReprintOut(BaseModel):
    reprint_no: str
    state: Literal["to_ship", "shipped", "refunded"]
    label: str = Field(description="The state's Chinese label (config/messages/center.toml).")


class ReprintPrintedIn(Strict):
    reprint_no: str = Field(pattern=r"^[0-9]{18}$")


class EmailIn(Strict):
    collection_code: str = Code
    name: str = Field(min_length=1, max_length=50)
    email: str = Field(
        min_length=3, max_length=254, pattern=r"^[^@\s<>\"(),;:]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
    )


class EmailOut(BaseModel):
    request_id: int
    state: Literal["queued"]


class LinkOut(BaseModel):
    url: str
    expires_at: str = Field(description="ISO 8601, UTC")


class HeartbeatIn(Strict):
    health: dict[str, Any] = Field(default_factory=dict)
    counters: dict[str, Any] = Field(default_factory=dict)
    outbox_depth: int = Field(default=0, ge=0)
    version: str = Field(default="", max_length=100)


class HeartbeatOut(BaseModel):
    server_time: str = Field(description="ISO 8601, UTC")


class KeysOut(BaseModel):
    context_public_keys: list[str] = Field(description="Raw Ed25519 public keys, base64")


class ErrorBody(BaseModel):
    code: str
    zh: str
    en: str
    model_config = ConfigDict(extra="allow")


class Error(BaseModel):
    error: ErrorBody
