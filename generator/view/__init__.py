"""The view: every decision about a generated file, as typed values of Python source that the
templates place without deciding anything (`view`, with its parts for the image, the load test
and the sidecars), and the resolved spec that `modalgen show` prints (`resolved`).

May import the checks, the workloads, the engines, the model and the stages below them.
"""
