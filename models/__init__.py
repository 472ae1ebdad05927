"""Models of Surveillance: the anomaly detector, its smoothing, metrics and ONNX export."""
