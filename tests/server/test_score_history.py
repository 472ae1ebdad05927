"""A camera's score history on both engines: what each level keeps, a long range read from a coarse level
(bounded work, peaks and gaps kept, the newest points too), pruning (by the retention task), and the
levels of history stored before they existed."""

from __future__ import annotations

import time
from pathlib import Path

from servers.files import FileStore
from servers.history import ScoreHistory
from servers.retention import apply_retention
from servers.storage import Database, VideoRepository, connect_database
from servers.storage.reviews import AlertReviews
from servers.storage.scores import LEVELS, Point, ScoreRepository, slot_maxima


def test_the_writer_keeps_each_levels_slot_maxima_and_gaps(database: Database) -> None:
    repository = ScoreRepository(database, bucket_seconds=60.0, interval=1.0)
    repository.ensure_indexes()
    history = ScoreHistory(repository)
    sent = [(float(t), 0.99 if t == 37 else (t % 7) / 10) for t in range(70)]
    for at, score in sent:
        history.record("yard", at, score)  # type: ignore[arg-type]
    history.gap("yard", 70.0)
    stored = [*sent, (70.0, None)]
    assert repository.points("yard", 0, 100) == stored
    for level in range(1, LEVELS):
        width = repository.level_interval(level)
        assert repository.points("yard", 0, 100, level) == slot_maxima(stored, width)
    assert repository.points("yard", 0, 100, 2) == [(37.0, 0.99), (70.0, None)]


def test_a_long_range_is_read_from_a_coarse_level(database: Database) -> None:
    """20,000 points at 1 s: 50 points of all of it come from level 2 (256 s) plus the newest level-0
    points, with the peak and the gap; a short range still comes from level 0 exactly."""
    repository = ScoreRepository(database, bucket_seconds=3600.0, interval=1.0)
    repository.ensure_indexes()
    points: list[Point] = [(float(t), (t % 10) / 20) for t in range(20_000)]
    points[10_000] = (10_000.0, None)
    points[12_345] = (12_345.0, 0.99)
    for level in range(LEVELS):
        repository.add("yard", slot_maxima(points, repository.level_interval(level)), level)
    newest: list[Point] = [(20_000.0 + t, 0.1) for t in range(100)]  # the coarse levels' open slots
    newest[50] = (20_050.0, 0.98)
    repository.add("yard", newest)

    kept, total = repository.history("yard", 0, 1e10, 50)
    assert total < 600, "drawn from level 2 and the newest level-0 points, not 20,100 points"
    assert len(kept) <= 2 * 50 + 1 and kept == sorted(kept)
    assert (12_345.0, 0.99) in kept and (10_000.0, None) in kept and (20_050.0, 0.98) in kept

    short, total = repository.history("yard", 12_300, 12_400, 200)
    assert short == points[12_300:12_401] and total == 101


def test_prune_forgets_every_level_before_a_time(database: Database) -> None:
    repository = ScoreRepository(database, bucket_seconds=1000.0, interval=1.0)
    repository.ensure_indexes()
    points: list[Point] = [(float(t), 0.5) for t in range(0, 20_000, 20)]
    for level in range(LEVELS):
        repository.add("yard", slot_maxima(points, repository.level_interval(level)), level)
        repository.add("gate", [(19_000.0, 0.2)], level)
    repository.prune(15_050.0)
    assert repository.points("yard", 0, 1e10) == [point for point in points if point[0] >= 15_050]
    for level in range(1, LEVELS):
        kept = repository.points("yard", 0, 1e10, level)
        assert kept and min(time for time, _ in kept) >= 15_050, level
        assert repository.points("gate", 0, 1e10, level) == [(19_000.0, 0.2)]
    kept, _ = repository.history("yard", 0, 1e10, 100)
    assert kept[0][0] >= 15_050
    repository.delete("yard")
    assert all(not repository.points("yard", 0, 1e10, level) for level in range(LEVELS))


def test_retention_prunes_the_history_older_than_its_age(tmp_path: Path) -> None:
    """The removal task's retention (`retention-days` 1) forgets the history older than a day, and only
    that, on the embedded database; without an age limit it keeps everything."""
    files = FileStore(tmp_path / "storage")
    database = connect_database("", name="test", storage_directory=files.root, max_connections=1)
    repository = ScoreRepository(database, bucket_seconds=3600.0, interval=5.0)
    repository.ensure_indexes()
    now = round(time.time())
    old, recent = [(now - 2 * 86400, 0.7), (now - 2 * 86400 + 5, None)], [(now - 600, 0.4), (now - 60, 0.3)]
    repository.add("yard", [*old, *recent])
    videos, alerts = VideoRepository(database), AlertReviews(database)
    apply_retention(files, videos, alerts, days=0, max_gigabytes=1, scores=repository)
    assert repository.points("yard", 0, now) == [*old, *recent]
    apply_retention(files, videos, alerts, days=1, max_gigabytes=0, scores=repository)
    assert repository.points("yard", 0, now) == recent
    database.close()


def test_history_stored_before_the_levels_gets_them_at_the_start(database: Database) -> None:
    """Level-0 documents of an earlier version: the next start (ensure_indexes) builds every coarse level
    from them, once; a long range then reads a coarse level that holds the old points too."""
    legacy = ScoreRepository(database, bucket_seconds=3600.0, interval=1.0)
    points: list[Point] = [(float(t), (t % 10) / 20) for t in range(0, 20_000, 2)]
    points[3_000] = (6_000.0, None)
    points[4_000] = (8_000.0, 0.99)
    legacy.add("yard", points)  # level 0 only, as an earlier version stored it
    repository = ScoreRepository(database, bucket_seconds=3600.0, interval=1.0)
    repository.ensure_indexes()
    repository.ensure_indexes()  # once built, left as they are
    for level in range(1, LEVELS):
        assert repository.points("yard", 0, 1e10, level) == slot_maxima(
            points, repository.level_interval(level)
        )
    kept, total = repository.history("yard", 0, 1e10, 50)
    assert total < 1_000 and (8_000.0, 0.99) in kept and (6_000.0, None) in kept
