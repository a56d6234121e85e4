#!/usr/bin/env python3
"""Checks a cairn command's --json output against docs/json-schema.json.

usage: check_json_output.py SCHEMA DEFINITION FILE [--lines]
  DEFINITION  the schema's $defs entry: a command name (list, latest, ...) or run_event
  --lines     FILE holds one JSON object per line (run streams); each is checked
Prints every violation with its location and exits 1 if there is any.
"""
import json
import sys

import jsonschema


def leaves(error):
    if not error.context:
        return [error]
    return [leaf for sub in error.context for leaf in leaves(sub)]


def main():
    schema_path, definition, output_path = sys.argv[1:4]
    lines = "--lines" in sys.argv[4:]
    schema = json.load(open(schema_path))
    if definition not in schema["$defs"]:
        sys.exit(f"{schema_path}: no definition '{definition}'")
    validator = jsonschema.Draft202012Validator(dict(schema, **{"$ref": f"#/$defs/{definition}"}))
    text = open(output_path).read()
    documents = [line for line in text.splitlines() if line.strip()] if lines else [text]
    if not documents:
        sys.exit(f"{output_path}: no output")
    problems = []
    for number, document in enumerate(documents, 1):
        try:
            value = json.loads(document)
        except json.JSONDecodeError as error:
            problems.append(f"{output_path}:{number}: not JSON: {error}")
            continue
        for error in validator.iter_errors(value):
            # "not valid under any of the given schemas" says nothing: show why each choice failed.
            for detail in leaves(error):
                where = "/".join(str(part) for part in detail.absolute_path) or "(top)"
                problems.append(f"{output_path}:{number}: {where}: {detail.message[:300]}")
    for problem in problems:
        print(problem)
    sys.exit(1 if problems else 0)


main()
