"""``imgqa protocols``: the QC tests available, their parameters and measurements."""

from __future__ import annotations

import argparse

from imgqa.cli._common import print_json
from imgqa.protocols import all_protocols
from imgqa.protocols.manual import items_for

_ENTRY = {"number": "number", "passfail": "pass|fail", "text": "text"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("protocols", help="list the QC tests and what they measure")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    protos = all_protocols()
    if args.format == "json":
        print_json([{
            "name": p.name, "version": p.version, "title": p.title,
            "description": p.description, "modalities": list(p.modalities), "kind": p.kind,
            "inputs": p.inputs, "standard": p.standard,
            "parameters": [{"name": x.name, "type": x.type.__name__, "default": x.default,
                            "unit": x.unit, "description": x.description} for x in p.parameters],
            "key_measurement": p.key_measurement,
            "measurements": [{"name": m.name, "label": m.label, "unit": m.unit,
                              "description": m.description} for m in p.measurements],
        } for p in protos])
        return 0
    for p in protos:
        print(f"{p.name} (v{p.version}) — {p.title}")
        print(f"  modalities: {', '.join(p.modalities)}; input: {p.inputs}")
        if p.standard:
            print(f"  method: {p.standard}")
        for m in p.measurements:
            unit = f" [{m.unit}]" if m.unit else ""
            key = " (key measurement)" if m.name == p.key_measurement else ""
            print(f"    {m.name}{unit} — {m.label}{key}: {m.description}")
        for x in p.parameters:
            unit = f" {x.unit}" if x.unit else ""
            print(f"    --param {x.name}=<{x.type.__name__}> (default {x.default}{unit}): "
                  f"{x.description}")
        if p.kind == "manual":
            print("    typed in: imgqa record EQUIPMENT " + p.name + " " + " ".join(
                f"--value {i.name}=<{_ENTRY[i.kind]}>" for i in items_for(p.name)))
        print()
    return 0
