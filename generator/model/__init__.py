"""The model: the typed `Spec` (`models`), the sections that are not an engine's, a server
kind's or a workload's (image, bench, sidecars), and the JSON schema of it all (`schema`).

May import `spec`, `code` and the sections that live with their plug-in: `engines/*/section.py`,
`engines/sections.py`, `exposure/` and `workloads/section.py`. What a section needs of the rest
of the spec is checked in `checks/`; its part of the generated file is made in `view/`.
"""
