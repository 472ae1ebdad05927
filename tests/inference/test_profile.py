"""Scene profiles: calibration, the file format and its errors, running statistics, explanations."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inferences.explain import causes, summary
from inferences.paths import REPO_ROOT
from inferences.profile import (
    CHANNELS,
    MIN_SEGMENTS,
    WARMUP_SEGMENTS,
    CueSetup,
    LearningProfile,
    ProfileError,
    RunningProfile,
    SceneProfile,
    SegmentCues,
)

CLASSES = ("person", "bicycle", "car")
SETUP = CueSetup(
    extractor="tiny",
    feature_dim=8,
    objects_model="toy",
    classes=CLASSES,
    prepare_interval=0.1,
    segment_length=16,
    objects_every=8,
    crop=(0.0, 0.0, 1.0, 1.0),
)


def normal(rng: np.random.Generator, count: int) -> list[SegmentCues]:
    """Segments of a quiet scene: people, slow motion, features near one direction."""
    base = np.ones(8, dtype=np.float32)
    return [
        SegmentCues(
            base + rng.normal(scale=0.05, size=8).astype(np.float32),
            np.array([0.6, 0.02, 0.03], np.float32) + rng.normal(scale=0.01, size=3).astype(np.float32),
            np.array([1.0, 0.2], np.float32) + rng.normal(scale=0.05, size=2).astype(np.float32),
        )
        for _ in range(count)
    ]


def cyclist() -> SegmentCues:
    return SegmentCues(
        np.ones(8, np.float32), np.array([0.6, 0.9, 0.03], np.float32), np.array([6.0, 0.4], np.float32)
    )


def test_a_calibrated_profile_flags_the_unusual_and_names_it(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    profile = SceneProfile.from_videos(SETUP, [normal(rng, 20), normal(rng, 20)], source="walkway")
    quiet, _ = profile.channels(normal(rng, 10))
    assert np.abs(quiet).max() < 2.0  # compressed: |z| < e^2 - 1
    loud, top = profile.channels([cyclist()])
    assert loud[0, CHANNELS.index("objects")] > 2.0 and loud[0, CHANNELS.index("motion")] > 2.0
    assert CLASSES[top[0]] == "bicycle"
    found = causes(loud, top, [cyclist().objects], CLASSES)
    assert [cause["cue"] for cause in found][:2] == ["objects", "motion"] or [
        cause["cue"] for cause in found
    ][:2] == ["motion", "objects"]
    assert "bicycle 0.90" in summary(found) and "fast motion" in summary(found)

    saved = profile.save(tmp_path / "walkway.npz")
    loaded = SceneProfile.load(saved, expected=SETUP)
    assert loaded.source == "walkway" and loaded.segments == 40
    np.testing.assert_allclose(loaded.channels([cyclist()])[0], loud, atol=1e-2)  # float16 bank


def test_profile_errors_name_the_problem(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    with pytest.raises(
        ProfileError, match=f"too little normal footage: 5 segment\\(s\\), at least {MIN_SEGMENTS}"
    ):
        SceneProfile.from_videos(SETUP, [normal(rng, 5)])
    path = SceneProfile.from_videos(SETUP, [normal(rng, 12)]).save(tmp_path / "p.npz")
    other = dataclasses.replace(SETUP, extractor="i3d", feature_dim=1024)
    with pytest.raises(
        ProfileError,
        match='profile made with other models or cues: extractor is "tiny", the engine uses "i3d"',
    ):
        SceneProfile.load(path, expected=other)
    with pytest.raises(ProfileError, match="classes is"):
        SceneProfile.load(path, expected=dataclasses.replace(SETUP, classes=("person",)))
    with pytest.raises(ProfileError, match=r"prepare_interval is 0\.1, the engine uses 0\.04"):
        SceneProfile.load(path, expected=dataclasses.replace(SETUP, prepare_interval=0.04))
    with pytest.raises(ProfileError, match="objects_every is 8, the engine uses 2"):
        SceneProfile.load(path, expected=dataclasses.replace(SETUP, objects_every=2))
    with pytest.raises(ProfileError, match="crop is"):
        SceneProfile.load(path, expected=dataclasses.replace(SETUP, crop=(0.1, 0.0, 1.0, 1.0)))
    arrays = dict(np.load(path))
    arrays["objects_scale"] = np.zeros_like(arrays["objects_scale"])
    np.savez(tmp_path / "zero-scale.npz", **arrays)
    with pytest.raises(ProfileError, match="objects statistics not finite and positive"):
        SceneProfile.load(tmp_path / "zero-scale.npz")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ProfileError, match=r"broken\.npz: not a scene profile"):
        SceneProfile.load(broken)
    with pytest.raises(ProfileError, match="scene profile not found"):
        SceneProfile.load(tmp_path / "missing.npz")


def test_running_statistics_warm_up_then_adapt() -> None:
    rng = np.random.default_rng(2)
    running = RunningProfile()
    z, _ = running.channels(normal(rng, WARMUP_SEGMENTS))
    assert not z.any()  # nothing is unusual before it has seen its scene
    z, _ = running.channels([*normal(rng, 4), cyclist()])
    assert np.abs(z[:4]).max() < 2.0 and z[4, CHANNELS.index("motion")] > 2.0


def test_a_learning_camera_calibrates_itself() -> None:
    rng = np.random.default_rng(3)
    learned: list[SceneProfile] = []
    learning = LearningProfile(SETUP, segments=10, source="gate", on_calibrated=learned.append)
    learning.channels(normal(rng, 9))
    assert not learned
    learning.channels(normal(rng, 1))
    assert len(learned) == 1 and learned[0].segments == 10 and learned[0].source == "gate"
    z, _ = learning.channels([cyclist()])
    assert z[0, CHANNELS.index("motion")] > 2.0
    with pytest.raises(ProfileError, match="at least"):
        LearningProfile(SETUP, segments=3, source="gate")


def test_calibrate_command_writes_a_profile_and_refuses_too_little_footage(
    tmp_path: Path, camera_clip: Path
) -> None:
    """`python -m inferences calibrate` with the real default models on a real (generated) normal clip."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "inferences",
            "calibrate",
            str(camera_clip),
            "--output",
            str(tmp_path / "walkway.npz"),
            "--name",
            "walkway",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "normal segments" in done.stdout
    assert SceneProfile.load(tmp_path / "walkway.npz").source == "walkway"
    short = tmp_path / "short.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(camera_clip), "-frames:v", "40", str(short)],
        check=True,
        timeout=60,
    )
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "inferences",
            "calibrate",
            str(short),
            "--output",
            str(tmp_path / "short.npz"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 2
    assert (
        refused.stderr.strip().splitlines()[-1].startswith("error: too little normal footage: 3 segment(s)")
    )
