"""The inference engine: offline detection of recorded videos and live detection of streams (ONNX Runtime).

Public entry points: `inferences.offline.VideoDetector`, `inferences.stream.StreamDetector` (its events in
`inferences.events`), `inferences.config.load_inference_config`, `inferences.video.open_video` (see
docs/engine.md).
"""
