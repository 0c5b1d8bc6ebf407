"""``GET /docs``: the API documentation page, rendered on the server.

Why not Swagger UI or ReDoc: both load their scripts from a CDN, and neither
booths nor many centers may reach the internet (and nothing is downloaded at
run time). This page is plain HTML drawn from the very OpenAPI document the
center serves at ``/openapi.json`` (kept equal to ``center/openapi.json`` by a
test), so it cannot drift from the API: every path, method, request body,
field with its type and constraints, response and error code. No script, no
external resource.
"""

from __future__ import annotations

import html
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

docs_router = APIRouter(include_in_schema=False)

_STYLE = """
body{font:15px/1.5 "Noto Sans CJK SC",sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
h2{border-bottom:1px solid #ccc;margin-top:2em} h3{margin:1.6em 0 .3em}
.m{display:inline-block;min-width:4em;padding:0 .4em;border-radius:3px;color:#fff;font-weight:bold}
.post{background:#1f7a4d}.get{background:#1f5a99} code{background:#f2f2f2;padding:0 .2em}
table{border-collapse:collapse;margin:.3em 0 1em}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}
.muted{color:#666}
"""


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f'<a href="#schema-{html.escape(name)}">{html.escape(name)}</a>'
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " | ".join(_type(s) for s in schema[key])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return f"{kind}: " + ", ".join(f"<code>{html.escape(str(v))}</code>" for v in schema["enum"])
    if "const" in schema:
        return f"<code>{html.escape(str(schema['const']))}</code>"
    if schema.get("format"):
        return f"{kind} ({html.escape(str(schema['format']))})"
    return html.escape(str(kind))


def _limits(schema: dict[str, Any]) -> str:
    parts = []
    for key, label in (("pattern", "pattern"), ("minLength", "min length"),
                       ("maxLength", "max length"), ("minimum", "≥"), ("maximum", "≤"),
                       ("default", "default")):
        if key in schema:
            parts.append(f"{label} <code>{html.escape(json.dumps(schema[key], ensure_ascii=False))}</code>")
    return ", ".join(parts)


def _schema_table(name: str, schema: dict[str, Any]) -> str:
    rows = []
    required = set(schema.get("required", []))
    for field, sub in (schema.get("properties") or {}).items():
        desc = html.escape(sub.get("description", "") or sub.get("title", ""))
        rows.append(
            f"<tr><td><code>{html.escape(field)}</code>{' *' if field in required else ''}</td>"
            f"<td>{_type(sub)}</td><td>{_limits(sub)}</td><td>{desc}</td></tr>"
        )
    body = "".join(rows) or '<tr><td colspan="4" class="muted">free-form object</td></tr>'
    doc = html.escape(schema.get("description", ""))
    return (
        f'<h3 id="schema-{html.escape(name)}">{html.escape(name)}</h3>'
        + (f"<p>{doc}</p>" if doc else "")
        + "<table><tr><th>field (* required)</th><th>type</th><th>limits</th><th>meaning</th></tr>"
        + body + "</table>"
    )


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    out = [
        f'<h3 id="op-{html.escape(op.get("operationId", path))}"><span class="m {method}">'
        f"{method.upper()}</span> <code>{html.escape(path)}</code></h3>"
    ]
    if op.get("summary"):
        out.append(f"<p><b>{html.escape(op['summary'])}</b></p>")
    if op.get("description"):
        out.append(f"<p>{html.escape(op['description'])}</p>")
    auth = "device token (<code>Authorization: Bearer …</code>)" if op.get("security") else "none"
    out.append(f"<p>Authentication: {auth}</p>")
    body = op.get("requestBody", {}).get("content", {})
    for media, content in body.items():
        out.append(f"<p>Request body (<code>{html.escape(media)}</code>): "
                   f"{_type(content.get('schema', {}))}</p>")
    rows = []
    for status, resp in sorted(op.get("responses", {}).items()):
        content = resp.get("content", {})
        kinds = ", ".join(
            f"<code>{html.escape(m)}</code> {_type(c.get('schema', {}))}" for m, c in content.items()
        )
        rows.append(f"<tr><td>{html.escape(status)}</td><td>{html.escape(resp.get('description', ''))}"
                    f"</td><td>{kinds}</td></tr>")
    out.append("<table><tr><th>status</th><th>meaning</th><th>body</th></tr>" + "".join(rows)
               + "</table>")
    return "".join(out)


def render(spec: dict[str, Any]) -> str:
    info = spec.get("info", {})
    ops = []
    index = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            ops.append(_operation(path, method, op))
            anchor = html.escape(op.get("operationId", path))
            index.append(f'<li><a href="#op-{anchor}">{method.upper()} {html.escape(path)}</a></li>')
    schemas = "".join(
        _schema_table(name, schema)
        for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items())
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(info.get('title', 'API'))} — API</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(info.get('title', ''))} <span class='muted'>{html.escape(info.get('version', ''))}</span></h1>"
        f"<p>{html.escape(info.get('description', ''))}</p>"
        '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI '
        f"{html.escape(spec.get('openapi', ''))}).</p>"
        f"<h2>Operations</h2><ul>{''.join(index)}</ul>{''.join(ops)}"
        f"<h2>Schemas</h2>{schemas}</body></html>"
    )


@docs_router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    page = getattr(request.app.state, "docs_page", None)
    if page is None:
        page = request.app.state.docs_page = render(request.app.openapi())
    return HTMLResponse(page, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
