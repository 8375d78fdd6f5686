"""Catalog extraction: making an option catalog from an engine release, by parsing its source
without importing it. `source` fetches and reads a release and writes the catalog beside its
sha256 manifest; `sglang` and `vllm` (with `vllm_parser_walk`, `vllm_type_hints` and
`vllm_registries`) read the options out of it.

Tooling, apart from the runtime: only scripts/extract_*_catalog.py and `modalgen catalog add`
(`project/project_catalogs.py`) import it, and a `generate` imports none of it
(tests/test_layout.py). May import `engines` (the catalog format) and the stages below it.
"""
