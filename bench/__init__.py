"""googlive benchmarks: `python -m bench [--quick] [--plot]`; see bench/README.md."""
