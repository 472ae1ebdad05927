"""Model selection for the inference benchmarks: the default config when its models are built, otherwise
clearly labelled stand-ins (the real I3D with an untrained detector, or the tiny test models)."""

from __future__ import annotations

from pathlib import Path

from inferences.config import InferenceConfig, load_inference_config


def bench_config(work: Path, **overrides) -> tuple[InferenceConfig, str]:
    """(config, label) for the benchmark; stand-in models are written under `work`."""
    config = load_inference_config()
    if config.extraction_model_file.is_file() and config.detection_model_file.is_file():
        label = "default models (I3D + CenterNet objects + motion + shipped Ped2 cue detector)"
    elif config.extraction_model_file.is_file():
        import torch

        from models.detector import create_detector
        from models.export import export_detector

        torch.manual_seed(0)
        detector = create_detector(feature_dim=1024)
        export_detector(
            detector.eval(),
            work / "detector.onnx",
            metadata={"segment_length": "16", "smoothing_window": "1", "extractor": "i3d"},
        )
        config = config.replace(detection_model_path=str(work / "detector.onnx"))
        label = "I3D fp32 extractor + UNTRAINED detector (shipped detector not built yet; cost is the same)"
    else:
        from harness import tiny_models

        tiny_models.build_extractor(work / "tiny-fp32.onnx", size=224)
        tiny_models.build_random_detector(work / "detector.onnx")
        config = config.replace(
            extraction_model_path=str(work / "tiny-{precision}.onnx"),
            detection_model_path=str(work / "detector.onnx"),
        )
        label = "TINY TEST MODELS (the I3D extractor is not built: run `make install`) - not representative"
    return config.replace(providers=("CPUExecutionProvider",), **overrides), label


def model_paths(models, cues, hint: str) -> str:
    """Which backend and precision each model of a loaded pipeline runs on (`inferences.backends`), and
    OpenVINO's performance hint."""
    objects = f", objects {cues.objects.runner.choice}" if cues.objects is not None else ""
    return (
        f"paths: extractor {models.extractor.choice}{objects}, detector {models.detector.runner.choice}; "
        f"OpenVINO hint {hint}"
    )
