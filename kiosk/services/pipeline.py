"""The photo pipeline in its own thread (mediapipe, matting, JPEG encode are slow)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hardware.health import Health, missing
from kiosk.services.post import Post
from kiosk.services.worker import Worker

log = logging.getLogger(__name__)


class PipelineWorker:
    """``make_photo`` for a test; else the pipeline with the spec and options of
    ``settings`` (the program's parsed ones), built in the worker thread."""

    def __init__(self, post: Post, make_photo: Callable[[bytes], Any] | None = None,
                 settings: Any = None) -> None:
        self.post = post
        self._make_photo = make_photo
        self._settings = settings
        self.worker = Worker("pipeline")
        self._status = Health("unknown", "warming up")
        self.runs = 0
        # Called in this worker with each result (or the error) before it is posted:
        # the UI renders the texts that will show it here, not on its own thread.
        self.prepare: Callable[[Any], None] | None = None

    def _resolve(self) -> Callable[[bytes], Any]:
        if self._make_photo is None:
            from kiosk.photo.pipeline import make_photo

            if self._settings is None:
                self._make_photo = make_photo
            else:
                from kiosk.wiring import photo_options, photo_spec

                settings, options = self._settings, photo_options(self._settings)
                # The spec per photo (cached by load_spec): a spec error is the photo's.
                self._make_photo = lambda jpeg: make_photo(jpeg, photo_spec(settings), options)
        return self._make_photo

    def warm_up(self, sample: bytes | None = None) -> None:
        """Import and first-run the pipeline now (models, numba), not on the first student."""

        def job() -> None:
            try:
                fn = self._resolve()
                if sample:
                    try:
                        fn(sample)
                    except Exception as exc:  # a refused sample still warmed the models
                        log.debug("warm-up photo: %s", exc)
                self._status = Health("ok")
            except ImportError as exc:
                self._status = missing(f"photo pipeline ({exc.name})")

        self.worker.submit(job)

    def process(self, jpeg: bytes, ok: Callable[[Any], None], err: Callable[[Exception], None]) -> None:
        def job() -> None:
            try:
                result = self._resolve()(jpeg)
            except Exception as exc:
                self._prepare(exc)
                self.post(err, exc)
                return
            self.runs += 1
            self._prepare(result)
            self.post(ok, result)

        self.worker.submit(job)

    def _prepare(self, outcome: Any) -> None:
        if self.prepare is not None:
            try:
                self.prepare(outcome)
            except Exception:  # the UI can still do it itself; the result must go through
                log.exception("preparing the result for the screen failed")

    def health(self) -> Health:
        return self._status

    def stop(self) -> None:
        self.worker.stop()
