"""Which problem guidance names first: the one the still would name first.

A student who is told one thing by the screen and another by the refused
still retakes the wrong thing. The still's reasons come in the order of its
report's items; that order is read from one place, the spec's
``reason_order`` when the spec carries one, else the order in which the
pipeline refuses today (count, face cut, pose, framing, then the picture
checks of the verified file). Guidance only maps its checks onto those item
names; it never keeps an order of its own, except that the items the pipeline
measures only on the finished file come after those that refuse a capture
earlier (``prediction_order``): the still never reaches them otherwise.
"""

from __future__ import annotations

from kiosk.photo.spec import Spec

# The still's order of reasons as make_photo produces them now: step_analyse
# refuses count/face-cut/pose, step_plan framing, step_verify the picture checks.
PIPELINE_ORDER: tuple[str, ...] = (
    "single_face", "face_cut",
    "pupil_tilt", "yaw", "pitch", "eyes_open", "mouth_closed",
    "framing",
    "hair_top", "eye_line", "face_width", "centring",
    "sharpness", "exposure", "illumination_balance",
    "background", "background_colour", "clothing", "glasses_glare",
)  # fmt: skip

# Items a student can fix at the booth, with the guidance that fixes them.
# Background and file items are the kiosk's business, never the student's.
FIXABLE: frozenset[str] = frozenset({
    "single_face", "face_cut", "pupil_tilt", "yaw", "pitch", "eyes_open", "mouth_closed",
    "framing", "hair_top", "eye_line", "face_width", "centring",
    "sharpness", "exposure", "illumination_balance", "clothing",
})  # fmt: skip


# Items the pipeline judges only on the finished file (step_verify): a still whose
# capture fails an earlier step (exposure, sharpness and pose in step_analyse, framing
# in step_plan) is refused for that, and these are never measured. They can be the
# still's reason only when everything else passes, whatever their rank in the spec.
FILE_ONLY: frozenset[str] = frozenset({
    "illumination_balance", "clothing", "glasses_glare", "background", "background_colour",
    "matte_islands", "matte_holes", "matte_rim", "matte_spill",
})  # fmt: skip


def still_order(spec: Spec) -> tuple[str, ...]:
    """The still's reason order: the spec's own list if it has one, then the rest."""
    own = tuple(getattr(spec, "reason_order", None) or ())
    return own + tuple(n for n in PIPELINE_ORDER if n not in own)


def prediction_order(spec: Spec) -> tuple[str, ...]:
    """The order in which a capture meets the still's reasons: the spec's order within
    each step, the items judged only on the finished file last."""
    order = still_order(spec)
    return tuple(n for n in order if n not in FILE_ONLY) + tuple(n for n in order if n in FILE_ONLY)


def first_fixable(failures: list[str], spec: Spec) -> str | None:
    """The first failed item a student can fix, in the still's order."""
    order = still_order(spec)
    fixable = [n for n in failures if n in FIXABLE]
    if not fixable:
        return None
    return min(fixable, key=lambda n: order.index(n) if n in order else len(order))
