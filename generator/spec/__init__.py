"""Reading a spec file, before there is a model: errors with their file:line:col, the limits,
files read safely inside the project, the TOML/YAML loaders (with their prescan), inheritance
from bases, the credential scan, and the kinds of values a spec holds (`fields`, `gpus`,
`reserved_names`).

May import `generator.code` and `generator.locations` only.
"""
