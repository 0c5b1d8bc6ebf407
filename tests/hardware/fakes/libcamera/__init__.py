"""FAKE libcamera (only ``Transform``), for the picamera2 fake: see ../README.md."""


class Transform:
    def __init__(self, hflip: int = 0, vflip: int = 0, transpose: int = 0) -> None:
        self.hflip, self.vflip, self.transpose = bool(hflip), bool(vflip), bool(transpose)
