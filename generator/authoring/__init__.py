"""Authoring: the commands that make or edit specs and projects beyond `generate`: a starter
spec (`new`), a project's scaffold (`init`), the in-place spec editor that keeps comments and
layout (`spec_edit`), and what it writes for `pin`, `upgrade` and `capacity`.

May import `project` and every stage below it.
"""
