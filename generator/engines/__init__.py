"""The inference engines a spec can serve with: one package each, behind `engines.base.Engine`.

`sections` holds the spec sections (what `models` needs), `registry` the engines themselves
(what the view and the checks ask). Nothing outside this package asks which engine it is.

Two stages live here. The sections (`section_base`, `sections`, each engine's `section`) are
read with the spec: they may import `spec` only, and the model imports them. The engines at
work (`base`, `registry`, each engine's `engine` and `catalog`, `option_table`,
`catalog_folders`) may import the model and the stages below it. Making catalogs from an
engine's release is tooling, in `generator/extract/`.
"""
