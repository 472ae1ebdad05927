"""Score smoothing at evaluation and inference: a median filter that removes isolated spikes and dips.

Offline (centred) form: the median of the `window` scores around each segment. Causal (streaming) form:
the median of the newest `window` scores up to and including each segment, so it never looks ahead and
a live stream gets exactly the value of the causal offline call on the same prefix. Edges repeat the first
/ last score. `window=1` returns the scores unchanged. Plain NumPy, no SciPy.
"""

from __future__ import annotations

import numpy as np


def smooth_scores(scores: np.ndarray, window: int, *, causal: bool) -> np.ndarray:
    """Median-smooth a 1-D score sequence (T,) with `window` segments; returns float32 (T,)."""
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim != 1:
        raise ValueError(f"smooth_scores: scores must be 1-D, got shape {scores.shape}")
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise ValueError(f"smooth_scores: window must be an integer >= 1, got {window!r}")
    if window == 1 or scores.size == 0:
        return scores.copy()
    before, after = (window - 1, 0) if causal else ((window - 1) // 2, window // 2)
    padded = np.pad(scores, (before, after), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, window)
    return np.median(windows, axis=1).astype(np.float32)
