"""Scale-out benchmark: the same upload job and live camera in-process, on a 1-node and on a 3-node local Ray
cluster (one run, one machine, everything on 127.0.0.1, SecantusDB as MongoDB, files in GridFS): the Ray
path's overhead per job and per segment, and the failover time after a node kill (to the camera's first
score on another node).

Usage: python bench/cluster.py [--seconds 40] [--tiny]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness.camera import FfmpegStream
from harness.cluster import LOOPBACK, LocalCluster
from harness.events import sse_events
from harness.server import ServerProcess, tiny_inference_config, wait_for
from inferences.config import load_inference_config
from inferences.paths import SHARED_DATA
from servers.storage.repositories import new_id

DATA = SHARED_DATA / "ucsd-ped2"
VARIANTS = (("in-process", None), ("ray 1 node", (0, 2)), ("ray 3 nodes", (2, 0)))  # (workers, head CPUs)


def watch(admin, session_id: str, events: list, stop: threading.Event) -> None:
    """Append (arrival epoch, name, data) of the camera's server-sent events until `stop`."""
    with admin.get(f"/api/sessions/{session_id}/events", stream=True, timeout=(5, 300)) as response:
        for name, data in sse_events(response):
            events.append((time.time(), name, data))
            if stop.is_set():
                return


def measure(server: ServerProcess, cluster: LocalCluster | None, seconds: float) -> dict:
    """One job's wall time, the camera's score delays, and (with a cluster of workers) the failover time."""
    admin = server.admin()
    started = time.monotonic()
    with (DATA / "Test001.mp4").open("rb") as video:
        video_id = admin.post("/api/videos", files={"file": ("Test001.mp4", video)}).json()["id"]
    result = wait_for(
        lambda: (
            (done := admin.get(f"/api/videos/{video_id}").json())["status"] in ("done", "failed") and done
        ),
        600,
        interval=0.1,
        message="the job",
    )
    assert result["status"] == "done", result
    result = {"job_s": round(time.monotonic() - started, 2)}
    feed = FfmpegStream(DATA / "Test002.mp4")
    events: list = []
    stop = threading.Event()
    try:
        session = admin.post("/api/sessions", json={"name": "bench", "source": feed.url}).json()
        reader = threading.Thread(target=watch, args=(admin, session["id"], events, stop), daemon=True)
        reader.start()
        time.sleep(seconds)
        delays = [at - data["time"] for at, name, data in events if name == "score"]
        result.update(segments=len(delays), delay_median_s=round(statistics.median(delays), 3))
        if cluster is not None and cluster.cluster.worker_nodes:
            node = admin.get(f"/api/sessions/{session['id']}").json()["node"]
            killed = time.time()
            cluster.kill(node)
            feed.process.wait(10)  # ffmpeg serves one client, then exits (a real camera serves many)
            feed = FfmpegStream(DATA / "Test002.mp4", port=feed.port)
            first = wait_for(
                lambda: next((at for at, name, _ in events if name == "score" and at > killed + 0.2), None),
                120,
                message="a score after the node kill",
            )
            result["failover_s"] = round(first - killed, 2)
        admin.post(f"/api/sessions/{session['id']}/stop")
    finally:
        stop.set()
        feed.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0, help="how long to watch each camera")
    parser.add_argument(
        "--tiny", action="store_true", help="the tests' tiny models instead of the shipped ones"
    )
    args = parser.parse_args()
    from secantus import SecantusDBServer

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        inference = tiny_inference_config(work / "models") if args.tiny else ""
        config = load_inference_config(inference or None)
        segment_s = config.segment_length * config.prepare_interval
        database = SecantusDBServer(storage_path=str(work / "secantus"))
        database.start()
        results = {}
        try:
            for label, shape in VARIANTS:
                print(f"{label} ...", file=sys.stderr, flush=True)
                cluster = LocalCluster(workers=shape[0], head_cpus=shape[1]) if shape else None
                values = {
                    "inference_config": str(inference),
                    "db_connection_uri": database.uri,
                    "db_name": f"bench_{new_id()[:12]}",
                    "file_store": "gridfs",
                    "allowed_stream_schemes": ["http"],
                }
                if cluster is not None:
                    values.update(ray_address=cluster.address, ray_node_ip=LOOPBACK, ray_camera_cpus=0.5)
                (work / label.replace(" ", "-")).mkdir()
                server = ServerProcess(work / label.replace(" ", "-"), **values)
                try:
                    server.start(timeout=180)
                    results[label] = measure(server, cluster, args.seconds)
                finally:
                    server.stop()
                    if cluster is not None:
                        cluster.shutdown()
        finally:
            database.stop()
    base = results["in-process"]
    for label, values in results.items():
        if label != "in-process":
            values["job_overhead"] = round(values["job_s"] / base["job_s"] - 1, 3)
            values["segment_overhead"] = round(
                (values["delay_median_s"] - base["delay_median_s"]) / segment_s, 3
            )
    print(
        json.dumps(
            {"models": "tiny" if args.tiny else "shipped", "segment_s": segment_s, **results}, indent=1
        )
    )


if __name__ == "__main__":
    main()
