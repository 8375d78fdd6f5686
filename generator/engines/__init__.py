"""The inference engines a spec can serve with: one package each, behind `engines.base.Engine`.

`sections` holds the spec sections (what `models` needs), `registry` the engines themselves
(what the view and the checks ask). Nothing outside this package asks which engine it is.
"""
