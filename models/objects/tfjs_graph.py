"""Read a TF.js graph model (`model.json` + the weight shards of its `weightsManifest`) without TensorFlow.

`read_graph_model(path, sha256={...})` checks the SHA-256 of every file it reads against pinned digests
before parsing anything, then returns the graph's nodes (attributes decoded from the JSON form of TF's
`AttrValue`) and its constants as NumPy arrays. Weights may be stored as float32, int32 or bool, or quantized
(`float16`, or affine `uint8` / `uint16` with `scale` and `min`); quantized values are expanded to their
original dtype exactly as TF.js does when it loads the model.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inferences.errors import SurveillanceError

_STORED_DTYPES = {
    "float32": "<f4",
    "int32": "<i4",
    "bool": "u1",
    "float16": "<f2",
    "uint8": "u1",
    "uint16": "<u2",
}


class ObjectModelError(SurveillanceError):
    """An object-model file is missing, corrupt or not the expected graph; the message names the file."""


@dataclass(frozen=True)
class GraphNode:
    """One node: op name, inputs (`name` or `name:index`; control inputs dropped) and decoded attributes."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attrs: dict[str, Any]


@dataclass(frozen=True)
class TfjsGraph:
    """Nodes in file order (TF.js writes them topologically sortable, not sorted), constants, signature."""

    nodes: dict[str, GraphNode]
    weights: dict[str, np.ndarray]
    signature: dict[str, Any]


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(path: Path, sha256: Mapping[str, str]) -> None:
    """ObjectModelError (one line) unless `path` exists and its SHA-256 is the digest pinned for its name."""
    if path.name not in sha256:
        raise ObjectModelError(f"{path}: no pinned sha256 for this file")
    if not path.is_file():
        raise ObjectModelError(f"{path}: file not found")
    digest = sha256_file(path)
    if digest != sha256[path.name]:
        raise ObjectModelError(
            f"{path}: sha256 {digest} != pinned {sha256[path.name]} "
            f"(corrupt, truncated or another version of the file)"
        )


def decode_attr(value: dict[str, Any]) -> Any:
    """The Python value of one JSON `AttrValue` (strings are base64 in JSON; tensors come from weights)."""
    if "list" in value:
        items = value["list"]
        if "s" in items:
            return [base64.b64decode(s).decode() for s in items["s"]]
        if "i" in items:
            return [int(i) for i in items["i"]]
        if "f" in items:
            return [float(f) for f in items["f"]]
        return [bool(b) for b in items.get("b", [])]
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    if "type" in value:
        return value["type"]
    if "shape" in value:
        return [int(dim.get("size", -1)) for dim in value["shape"].get("dim", [])]
    return None


def _dequantize(stored: np.ndarray, spec: dict[str, Any], where: str) -> np.ndarray:
    quantization = spec.get("quantization")
    dtype = spec["dtype"]
    if quantization is None:
        return stored.astype(np.bool_) if dtype == "bool" else stored.astype(stored.dtype.newbyteorder("="))
    kind = quantization["dtype"]
    if kind == "float16":
        return stored.astype(np.float32)
    if kind in ("uint8", "uint16"):  # computed in double, as JavaScript does, then stored
        values = stored.astype(np.float64) * quantization["scale"] + quantization["min"]
        return np.floor(values + 0.5).astype(np.int32) if dtype == "int32" else values.astype(np.float32)
    raise ObjectModelError(f"{where}: weight {spec['name']!r} has unsupported quantization {kind!r}")


def read_weights(manifest: list[dict[str, Any]], directory: Path) -> dict[str, np.ndarray]:
    """Constants of every manifest group: its shards concatenated, weights laid out one after another."""
    weights: dict[str, np.ndarray] = {}
    for group in manifest:
        shards = [directory / shard for shard in group["paths"]]
        data = b"".join(shard.read_bytes() for shard in shards)
        where = ", ".join(str(shard) for shard in shards)
        offset = 0
        for spec in group["weights"]:
            stored_dtype = (spec.get("quantization") or {}).get("dtype", spec["dtype"])
            if stored_dtype not in _STORED_DTYPES:
                raise ObjectModelError(
                    f"{where}: weight {spec['name']!r} has unsupported dtype {stored_dtype!r}"
                )
            stored = np.dtype(_STORED_DTYPES[stored_dtype])
            count = math.prod(spec["shape"])
            end = offset + count * stored.itemsize
            if end > len(data):
                raise ObjectModelError(f"{where}: {len(data)} bytes, too short for weight {spec['name']!r}")
            array = np.frombuffer(data, stored, count, offset).reshape(spec["shape"])
            weights[spec["name"]] = _dequantize(array, spec, where)
            offset = end
        if offset != len(data):
            raise ObjectModelError(f"{where}: {len(data) - offset} bytes left after the last weight")
    return weights


def read_graph_model(path: Path, *, sha256: Mapping[str, str]) -> TfjsGraph:
    """The graph model at `path` (`model.json`) with its weights, after checking every file's SHA-256."""
    path = Path(path)
    check_file(path, sha256)
    try:
        model = json.loads(path.read_text())
        manifest = model["weightsManifest"]
        raw_nodes = model["modelTopology"]["node"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ObjectModelError(f"{path}: not a TF.js graph model ({exc!r})") from None
    if model.get("format") != "graph-model":
        raise ObjectModelError(f"{path}: format {model.get('format')!r}, expected 'graph-model'")
    for group in manifest:
        for shard in group["paths"]:
            check_file(path.parent / shard, sha256)
    nodes = {}
    for raw in raw_nodes:
        inputs = tuple(name for name in raw.get("input", []) if not name.startswith("^"))
        attrs = {key: decode_attr(value) for key, value in raw.get("attr", {}).items()}
        nodes[raw["name"]] = GraphNode(raw["name"], raw["op"], inputs, attrs)
    return TfjsGraph(nodes, read_weights(manifest, path.parent), model.get("signature", {}))
