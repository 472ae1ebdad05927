"""Object detectors converted from TF.js graph models: MobileNetV3-CenterNet (COCO-80)."""
