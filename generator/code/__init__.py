"""Python source as values: literals, names, comments (`pycode`) and the decorators and keywords
of a call (`view_parts`), which every view is made of and which the templates place as they are.

Imports nothing of modalgen: the first stage.
"""
