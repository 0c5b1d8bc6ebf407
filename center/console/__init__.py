"""The reviewers' console: server-rendered pages (jinja2), no JavaScript framework."""
