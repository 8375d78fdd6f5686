"""Checks over a model: warnings and refusals that need more than one section (`checks`,
`sidecars`), and the gate from a spec file to a checked spec (`validation`: load, inherit,
scan for credentials, build the model, check).

May import the model, the engines, the workloads and the stages below them.
"""
