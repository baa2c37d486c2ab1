"""Benchmarks: what a harvest costs against the floor the source APIs set. See bench/README.md."""
