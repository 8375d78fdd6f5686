"""Rendering: a checked spec's view through the templates into formatted Python source
(`render`), with the header that records what it was made from (`provenance`).

May import the view and the stages below it.
"""
