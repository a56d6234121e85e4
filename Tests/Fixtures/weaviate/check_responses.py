#!/usr/bin/env python3
"""Checks every response the fake Weaviate logged against Weaviate's OpenAPI (Swagger 2.0) spec:
the operation exists, the status code is one the spec declares for it, and the body matches the
declared schema (with every $ref resolved), so the fake cannot drift from Weaviate.

Usage:
  check_responses.py [--also OTHER_SPEC.json ...] SPEC.json RESPONSES.jsonl
      SPEC is normally weaviate-api-subset.json (kept in the repository); each --also adds another
      spec to check against too, normally the full official spec when it is present.
      Every output line starts with "[<spec file name>] ". Prints one line per problem and a
      summary per spec; exits 1 if any spec found a problem, 0 otherwise.
  check_responses.py --check-subset FULL_SPEC.json SUBSET.json
      Checks that SUBSET is exactly what make_api_subset.py makes from FULL_SPEC; exits 1 if it
      drifted.
"""
import argparse, importlib.util, json, os, sys
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

HERE = os.path.dirname(os.path.abspath(__file__))


def check(spec, entries):
    """(problems, checked, operations) of the logged entries against one spec."""
    registry = Registry().with_resource("urn:weaviate-spec", Resource(contents=spec, specification=DRAFT4))
    problems, checked, operations = [], 0, set()
    for number, entry in entries:
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
    return problems, checked, operations


def check_responses(spec_paths, log_path):
    for path in spec_paths + [log_path]:
        if not os.path.isfile(path):
            print(f"check_responses.py: {path}: no such file", file=sys.stderr)
            sys.exit(2)
    with open(log_path) as f:
        entries = [(number, json.loads(line)) for number, line in enumerate(f, 1)]
    labels = [os.path.basename(p) for p in spec_paths]
    if len(set(labels)) < len(labels):
        labels = spec_paths
    failed = False
    for path, label in zip(spec_paths, labels):
        with open(path) as f:
            problems, checked, operations = check(json.load(f), entries)
        for problem in problems:
            print(f"[{label}] {problem}")
        print(f"[{label}] checked {checked} responses of {len(operations)} kinds against the spec: {', '.join(sorted(operations))}")
        failed = failed or bool(problems)
    return 1 if failed else 0


def check_subset(full_path, subset_path):
    spec = importlib.util.spec_from_file_location("make_api_subset", os.path.join(HERE, "make_api_subset.py"))
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    with open(full_path, "rb") as f:
        expected = maker.render(f.read())
    with open(subset_path) as f:
        actual = f.read()
    if actual == expected:
        document = json.loads(actual)
        count = sum(len(methods) for methods in document["paths"].values())
        print(f"{subset_path} is what make_api_subset.py makes from {full_path} "
              f"({count} operations, {len(document['definitions'])} definitions)")
        return 0
    print(f"{subset_path} has drifted from what make_api_subset.py makes from {full_path}; regenerate it with:\n"
          f"  python3 {os.path.join(HERE, 'make_api_subset.py')} {full_path} > {subset_path}")
    try:
        want, have = json.loads(expected), json.loads(actual)
    except ValueError as error:
        print(f"  {subset_path} is not valid JSON: {error}")
        return 1
    differences = [f"  top-level {key}" for key in sorted(set(want) | set(have))
                   if key not in ("paths", "definitions") and want.get(key) != have.get(key)]
    for section in ("paths", "definitions"):
        w, h = want.get(section, {}), have.get(section, {})
        for name in sorted(set(w) | set(h)):
            if name not in h:
                differences.append(f"  {section}: {name} is missing")
            elif name not in w:
                differences.append(f"  {section}: {name} should not be there")
            elif w[name] != h[name]:
                differences.append(f"  {section}: {name} differs")
    print("\n".join(differences) or "  same content, different formatting (not indent=1, sorted keys, trailing newline)")
    return 1


parser = argparse.ArgumentParser(
    description="Checks the fake Weaviate's logged responses against Weaviate's spec.",
    usage="%(prog)s [--also OTHER_SPEC.json ...] SPEC.json RESPONSES.jsonl\n"
          "       %(prog)s --check-subset FULL_SPEC.json SUBSET.json")
parser.add_argument("--also", action="append", default=[], metavar="OTHER_SPEC.json",
                    help="check against this spec too (repeatable)")
parser.add_argument("--check-subset", nargs=2, metavar=("FULL_SPEC.json", "SUBSET.json"),
                    help="check that SUBSET is what make_api_subset.py makes from FULL_SPEC")
parser.add_argument("files", nargs="*", metavar="SPEC.json RESPONSES.jsonl")
args = parser.parse_args()
if args.check_subset:
    if args.files or args.also:
        parser.error("--check-subset takes no other arguments")
    sys.exit(check_subset(*args.check_subset))
if len(args.files) != 2:
    parser.error("expected SPEC.json RESPONSES.jsonl")
sys.exit(check_responses([args.files[0]] + args.also, args.files[1]))
