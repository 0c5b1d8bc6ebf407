"""The kiosk's Kivy screens: thin views of ``kiosk.session`` laid out in ``.kv`` files."""
