"""The student session as a state machine, free of Kivy and of devices.

Screens call its methods when the student touches something; services call
its ``on_*`` methods with results. It never waits: every slow thing is a
request on ``Ports`` whose answer comes back later as an event.
"""

from kiosk.session.machine import STATES, Session
from kiosk.session.model import BoothContext, Notice, Order, Student
from kiosk.session.ports import Ports, RecordingPorts

__all__ = ["STATES", "Session", "BoothContext", "Notice", "Order", "Student", "Ports", "RecordingPorts"]
