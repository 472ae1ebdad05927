"""Research side of Surveillance (PyTorch): the anomaly detector, metrics, ONNX export and the extractor and
object-model builders (`python -m models prepare`)."""
