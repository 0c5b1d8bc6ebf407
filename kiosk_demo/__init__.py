"""The demo harness: the whole kiosk played by script, outside the product.

``env`` wires the kiosk on embedded defaults (simulated camera, embedded center,
virtual printer); ``driver`` taps the real app with touch events; ``scenarios``
are whole sessions; ``center_side`` does what the center's staff would do. They
drive the app through its public surface (screens' tags, the session's public
events) and the center through its admin functions. The product never imports
this package: ``kiosk demo`` and ``kiosk bench ui`` are added by entry points
(``pyproject.toml``), and an import-linter contract keeps it that way.
"""
