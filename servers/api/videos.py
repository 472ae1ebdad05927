"""Videos: upload (streamed to disk, checked by decoding, queued), list, detail, files, delete."""

from __future__ import annotations

import io
import logging
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request, send_file

from inferences.video import VideoError, open_video
from servers.api import checked_id, page_of
from servers.api.profiles import profile_file
from servers.api.queries import VideoQuery, parse_query
from servers.api.stored import send_stored
from servers.auth import require_role
from servers.errors import ApiError
from servers.media import MediaError, check_frame_size
from servers.services import services
from servers.storage.database import DatabaseUnavailable
from servers.storage.repositories import new_id

blueprint = Blueprint("videos", __name__)
log = logging.getLogger("servers.api.videos")
# Unicode categories dropped from file names: controls, formatting (bidirectional overrides, zero-width
# characters), surrogates, private use, unassigned, line and paragraph separators.
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _display_name(filename: str | None) -> str:
    """The shown name of an upload: its last path part, NFC-normalised, without control or formatting
    characters (no right-to-left override), other spaces as plain spaces; at most 200 characters."""
    name = unicodedata.normalize("NFC", Path((filename or "").replace("\\", "/")).name)
    name = "".join(
        " " if unicodedata.category(char) == "Zs" else char
        for char in name
        if unicodedata.category(char) not in _UNSAFE_CATEGORIES
    )
    return " ".join(name.split())[:200] or "video"


def _video(video_id: str) -> dict[str, Any]:
    video = services().videos.get(checked_id(video_id, "video"))
    if video is None:
        raise ApiError(404, "not-found", f"video {video_id} does not exist")
    return video


def _uploaded_paths() -> list[Path]:
    paths = []
    for _, storage in request.files.items(multi=True):
        name = getattr(storage.stream, "name", None)
        storage.stream.close()
        if isinstance(name, str):
            paths.append(Path(name))
    return paths


@blueprint.post("/videos")
@require_role("admin")
def upload() -> tuple[dict[str, Any], int]:
    """Accept a multipart `file` (and optionally the scene `profile` to score it with), check it decodes as
    video, queue it; 202 with the stored video (queued)."""
    if request.mimetype != "multipart/form-data":
        raise ApiError(
            415,
            "unsupported-media-type",
            "upload the video as multipart/form-data with field 'file'",
            params={"expected": "multipart/form-data"},
        )
    svc = services()
    storage = request.files.get("file")
    temporary = _uploaded_paths()
    try:
        if storage is None:
            raise ApiError(400, "missing-file", "multipart field 'file' is missing", params={"field": "file"})
        upload_path = Path(storage.stream.name)  # type: ignore[attr-defined]
        size = upload_path.stat().st_size
        name = _display_name(storage.filename)
        if size == 0:
            raise ApiError(400, "empty-file", "the uploaded file is empty", params={"name": name})
        try:
            check_frame_size(upload_path, svc.config.video_max_pixels)
        except MediaError as error:
            raise ApiError(
                400,
                "frames-too-large",
                f"file '{name}': {error}",
                params={"name": name, "max": svc.config.video_max_pixels},
            ) from None
        try:
            info = open_video(upload_path)
        except VideoError as error:  # its message starts with the server's temporary path: not shown
            reason = str(error).removeprefix(f"{upload_path}: ")
            raise ApiError(400, "not-a-video", f"file '{name}': {reason}", params={"name": name}) from None
        profile = request.form.get("profile") or None
        if profile is not None:
            profile_file(profile)  # 400 for an unknown profile
        video_id = new_id()
        svc.files.video_dir(video_id).mkdir(parents=True)
        os.replace(upload_path, svc.files.upload_path(video_id))
        original = {"width": info.width, "height": info.height, "fps": round(info.fps, 3)}
        try:
            svc.files.publish(svc.files.upload_path(video_id))  # whichever server or node runs the job
            video = svc.videos.create(
                video_id=video_id,
                name=name,
                size=size,
                profile=profile,
                original=original,
                **svc.leases.fields(),
            )
            svc.jobs.submit(video_id)
        except Exception:  # a full queue, or the database lost on the way: nothing of it stays
            _abandon(video_id)
            raise
        return video, 202
    finally:
        for path in temporary:
            path.unlink(missing_ok=True)


def _abandon(video_id: str) -> None:
    """Remove what a refused upload stored (its folder first: the database may be what failed)."""
    svc = services()
    try:
        svc.files.discard(svc.files.video_dir(video_id))
        svc.videos.delete(video_id)
    except DatabaseUnavailable as error:
        log.error("upload %s: its stored copy or document is left behind: %s", video_id, error)


@blueprint.get("/videos")
def list_videos() -> dict[str, Any]:
    """A page of videos (without scores), newest first; `status` filter, `q` name search."""
    query = parse_query(VideoQuery)
    items, total = services().videos.list(
        status=query.status, query=query.q, page=query.page, page_size=query.page_size
    )
    return page_of(items, total, query)


@blueprint.get("/videos/<video_id>")
def get_video(video_id: str) -> dict[str, Any]:
    """One video with its per-frame scores."""
    video = _video(video_id)
    video["scores"] = services().files.read_scores(video["id"]) or []
    return video


UNSAFE_NAME_CHARACTERS = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')  # what no file system takes (and the client's)


def download_name(video: dict[str, Any], suffix: str) -> str:
    """`<video name without its extension>-<suffix>`: every download of a video is named after it, with
    the characters no file system takes as `_` (as clients/src/utils/format.js `downloadStem`)."""
    stem = UNSAFE_NAME_CHARACTERS.sub("_", Path(video["name"]).stem)
    return f"{stem or 'video'}-{suffix}"


@blueprint.get("/videos/<video_id>/result")
def result(video_id: str) -> Response:
    """The annotated MP4 (HTTP Range supported), inline, named `<video name>-result.mp4`."""
    video = _video(video_id)
    if video["status"] != "done":
        raise ApiError(
            409,
            "not-ready",
            f"video {video_id} is {video['status']}; the result exists once done",
            params={"status": video["status"]},
        )
    if video.get("removed"):
        removed = video["removed"]
        raise ApiError(
            410,
            "removed",
            f"the result video was removed by retention ({removed['reason']}) at {removed['at']}",
            params={"reason": removed["reason"], "at": removed["at"]},
        )
    path = services().files.result_path(video["id"])
    return send_stored(path, "video/mp4", "result video", download_name(video, "result.mp4"))


@blueprint.get("/videos/<video_id>/cover")
def cover(video_id: str) -> Response:
    """The cover image (JPEG)."""
    video = _video(video_id)
    return send_stored(services().files.cover_path(video["id"]), "image/jpeg", "cover")


@blueprint.get("/videos/<video_id>/scores.csv")
def scores_csv(video_id: str) -> Response:
    """Per-frame scores as CSV `frame,time,score`."""
    video = _video(video_id)
    scores = services().files.read_scores(video["id"])
    if scores is None:
        raise ApiError(409, "not-ready", f"video {video_id} has no scores yet ({video['status']})")
    fps = video.get("fps") or 1.0
    text = io.StringIO()
    text.write("frame,time,score\n")
    for index, score in enumerate(scores):
        text.write(f"{index},{index / fps:.3f},{score}\n")
    return send_file(
        io.BytesIO(text.getvalue().encode()),
        mimetype="text/csv",
        as_attachment=True,
        download_name=download_name(video, "scores.csv"),
    )


@blueprint.delete("/videos/<video_id>")
@require_role("admin")
def delete_video(video_id: str) -> tuple[str, int]:
    """Cancel the job, delete the video; its files go through the delayed removal task."""
    video = _video(video_id)
    svc = services()
    svc.jobs.cancel(video["id"])
    svc.videos.delete(video["id"])
    svc.files.discard(svc.files.video_dir(video["id"]))
    return "", 204
