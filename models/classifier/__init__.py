"""UCF-Crime anomaly category classifier: backbones (`densenet`, `efficientnet_lite`), the baseline `head`,
the builder and checkpoints (`model`), `config`, `training`, `evaluation` and `export` (its image
preprocessing is the engine's `inferences.imaging`)."""
