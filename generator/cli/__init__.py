"""The `modalgen` command line (`cli`, run by `modalgen` and `python -m generator`), with its
console output and the machine-readable reports of `check` and `validate`.

The top stage: may import any package of modalgen; none imports it.
"""
