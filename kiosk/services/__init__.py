"""Workers between the session and the devices: camera, pipeline, center, printer, scanner.

Nothing here runs on the UI thread except ``post``ed callbacks: each service
owns its thread(s), and reports results through a ``post(fn, *args)``
callable that the app binds to ``Clock.schedule_once``. Each service answers
``health()`` for the operator panel.
"""
