"""Device drivers of the booth: cameras, QR scanners, the photo printer.

Nothing here imports ``kiosk``: configuration comes in as plain dicts, errors go
out as :class:`hardware.errors.DeviceError` carrying both audiences' words.
"""
