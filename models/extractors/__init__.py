"""Video feature extractors: Inception-I3D (default) and SlowFast R50."""
