"""The collection center: identifies students, takes photo uploads, runs the review.

Kiosks talk to it over the JSON API in ``center.api`` (Center API v1 in
docs/architecture.md, kept in ``center/openapi.json``); reviewers use the
server-rendered console in ``center.console``.
"""
