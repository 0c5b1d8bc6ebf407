"""The photo pipeline: from a capture to a compliant standard photo, and live guidance.

No Kivy and no hardware here; the models are created once per thread and reused.
"""
