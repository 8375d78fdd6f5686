"""A project on disk: its settings (`modalgen.toml`), its files and the staged writes
(`project`), drift between specs and generated files, the raw inputs and the user's cache that
let `check` skip unchanged files, the schema's cache, and the project's own catalogs.

May import rendering and every stage below it (`extract` for `catalog add` only).
"""
