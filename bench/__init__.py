"""The benchmark harness: ``python -m bench`` (see the README's "Performance" section)."""
