"""Feature datasets: loading the train/valid layout, the synthetic generator, the RTFM importer."""
