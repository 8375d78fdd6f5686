"""modalgen: serving specs in, deployable Modal apps out.

The packages follow the data path, each importing only those before it (CONTRIBUTING.md draws
it; tests/test_layout.py holds it):

    code, locations  Python source as values; where modalgen's own files are
    spec             reading a spec file: limits, safe reads, TOML/YAML, bases, credentials, fields
    (sections)       the spec sections that live with their engine, server kind or workload
    model            the typed Spec, made of those sections, and its JSON schema
    engines          the inference engines at work: command lines, options, catalogs read
    extract          making option catalogs from engine releases (never imported by generate)
    workloads        what is served: chat, completion, embedding
    checks           warnings and refusals over a Spec; the gate from a file to a checked spec
    view             every decision about the generated file, as typed values
    render           templates + view -> formatted source with its provenance header
    project          a project on disk: settings, drift, caches, its catalogs, the writes
    authoring        commands that make or edit specs and projects (new, init, pin, upgrade...)
    cli              the `modalgen` command line
"""
