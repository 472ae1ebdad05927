"""The benchmarks (`python bench/NAME.py`): each prints ratios measured in one run against a baseline."""
