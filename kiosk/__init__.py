"""Diploma-photo kiosk: capture, check and submit CHSI graduation photos at a booth."""

__version__ = "0.2.0"
