"""``imgqa info PATH...``: list the series found and every file that could not be used."""

from __future__ import annotations

import argparse

from imgqa._version import __version__
from imgqa.cli._common import print_json, table
from imgqa.io import load


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="list the image series in files, folders or zip archives")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    series = load(args.paths)
    if args.format == "json":
        print_json({"imgqa_version": __version__,
                    "series": [s.summary() for s in series],
                    "problems": [p.to_dict() for p in series.problems],
                    "skipped": series.skipped})
    else:
        rows = []
        for s in series:
            h, sp = s.header, s.pixel_spacing_mm
            rows.append([
                h.modality,
                " ".join(x for x in (h.equipment.manufacturer, h.equipment.model) if x),
                h.equipment.serial, h.equipment.station_name,
                h.acquired.strftime("%Y-%m-%d %H:%M") if h.acquired else "",
                len(s), f"{h.columns}x{h.rows}",
                f"{sp[1]:.4g}x{sp[0]:.4g}" if sp else "unknown",
                h.series_description[:40],
            ])
        if rows:
            print(table(rows, ["Modality", "Equipment", "Serial", "Station", "Date", "Images",
                               "Size", "Pixel mm", "Description"]))
        else:
            print("No image series found.")
        for p in series.problems:
            print(f"\nNot used: {p.path}\n  {p.error}" + (f"\n  {p.hint}" if p.hint else ""))
        for s in series.skipped:
            print(f"Skipped: {s}")
    return 1 if series.problems else 0
