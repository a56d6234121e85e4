#!/usr/bin/env python3
"""Checks every response the fake Weaviate logged against Weaviate's OpenAPI (Swagger 2.0) spec:
the operation exists, the status code is one the spec declares for it, and the body matches the
declared schema (with every $ref resolved), so the fake cannot drift from Weaviate.

Usage: check_responses.py SPEC.json RESPONSES.jsonl
Prints one line per problem and exits 1 if there is any; prints a summary and exits 0 otherwise.
"""
import json, sys
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

spec_path, log_path = sys.argv[1:3]
spec = json.load(open(spec_path))
registry = Registry().with_resource("urn:weaviate-spec", Resource(contents=spec, specification=DRAFT4))
problems, checked, operations = [], 0, set()

for number, line in enumerate(open(log_path), 1):
    entry = json.loads(line)
    where = f"line {number}: {entry['method']} {entry['path']} -> {entry['status']}"
    template = entry.get("template")
    if template is None:
        problems.append(f"{where}: not an operation of the spec")
        continue
    operation = spec["paths"].get(template, {}).get(entry["method"].lower())
    if operation is None:
        problems.append(f"{where}: the spec has no {entry['method']} {template}")
        continue
    response = operation["responses"].get(str(entry["status"]))
    if response is None:
        problems.append(f"{where}: status {entry['status']} is not declared for {entry['method']} {template} (declared: {sorted(operation['responses'])})")
        continue
    schema = response.get("schema")
    if schema is None:
        # Declared without a body schema: ready/live and DELETE answer with no body; 401 carries
        # go-swagger's {code, message}, which the spec leaves undescribed.
        if entry["body"] is not None and entry["status"] != 401:
            problems.append(f"{where}: the spec declares no body, but one was sent")
    else:
        validator = Draft4Validator({"$ref": "urn:weaviate-spec#/definitions/" + schema["$ref"].split("/")[-1]}
                                    if "$ref" in schema else schema, registry=registry)
        for error in validator.iter_errors(entry["body"]):
            problems.append(f"{where}: {'/'.join(map(str, error.absolute_path)) or 'body'}: {error.message}")
    operations.add(f"{entry['method']} {template} {entry['status']}")
    checked += 1

for problem in problems:
    print(problem)
print(f"checked {checked} responses of {len(operations)} kinds against the spec: {', '.join(sorted(operations))}")
sys.exit(1 if problems else 0)
