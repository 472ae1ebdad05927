"""UCF-Crime anomaly category classifier: backbones (`densenet`, `efficientnet_lite`), the baseline `head`,
the builder and checkpoints (`model`), image preprocessing (`preprocess`, NumPy only), `config`,
`training`, `evaluation` and `export`."""
