"""What drove a score: the cue channels of the segments behind an abnormal interval or a live alert, in words.

A channel counts as a cause when its z-score (before compression) is at least `CAUSE_Z`; the strongest
channel is always named. Labels: the object class and its confidence (`bicycle 0.91`), `fast motion`,
`unusual activity` (the whole frame moves unlike normal), `unusual scene` (the clip features are far from
every normal clip).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inferences.profile import CHANNELS

CAUSE_Z = 3.0
LABELS = {"motion": "fast motion", "activity": "unusual activity", "scene": "unusual scene"}


def causes(
    channels: np.ndarray,
    top_class: np.ndarray,
    objects: Sequence[np.ndarray],
    classes: Sequence[str],
) -> list[dict]:
    """Causes of a run of segments: `channels` (n, len(CHANNELS)) compressed z-scores, `top_class` (n,)
    index of each segment's most unusual object class (-1: none), `objects` the segments' raw class
    confidences. Returns [{"cue", "label", "z"}], strongest first."""
    channels = np.asarray(channels, dtype=np.float32).reshape(-1, len(CHANNELS))
    if not len(channels):
        return []
    peaks = channels.max(axis=0)
    z = np.sign(peaks) * np.expm1(np.abs(peaks))  # undo `compress`
    order = [int(c) for c in np.argsort(-z) if classes or CHANNELS[c] != "objects"]  # no object model: none
    chosen = [c for c in order if z[c] >= CAUSE_Z] or order[:1]
    found = []
    for c in chosen:
        cue = CHANNELS[c]
        if cue == "objects":
            at = int(np.argmax(channels[:, c]))
            index = int(top_class[at])
            if index < 0 or index >= len(classes):
                continue
            label = f"{classes[index]} {float(objects[at][index]):.2f}"
        else:
            label = LABELS[cue]
        found.append({"cue": cue, "label": label, "z": round(float(z[c]), 2)})
    return found


def summary(found: list[dict]) -> str:
    """One line for a prompt or a log: `bicycle 0.91, fast motion`."""
    return ", ".join(cause["label"] for cause in found)
