"""Printing: :class:`PrintService` over CUPS and a private cupsd for tests and the demo."""

from hardware.printing.reasons import PrinterState, interpret
from hardware.printing.service import JobResult, PrintError, PrintService

__all__ = ["JobResult", "PrintError", "PrintService", "PrinterState", "interpret"]
