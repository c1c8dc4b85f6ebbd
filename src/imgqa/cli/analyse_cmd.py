"""``imgqa analyse PATH...``: run QC analyses and print the results (table or JSON).

The JSON form is a stable contract (docs/cli.md, ../shared/contracts/analyse-output.schema.json):
``{"imgqa_version", "results": [{"protocol", "protocol_version", "series", "measurements":
[{"name", "value", "unit", "status"}], "warnings", "choice_reason"}], "problems": [{"path",
"error"}]}``; ``choice_reason`` says why the test ran (detector, fall-back, or the user's choice).
"""

from __future__ import annotations

import argparse
import os
import sys

from imgqa._version import __version__
from imgqa.cli._common import fmt_value, parse_params, print_json, table
from imgqa.errors import ParameterError, UsageError
from imgqa.io import load
from imgqa.protocols import all_protocols, get_protocol, measurement_label
from imgqa.protocols.base import key_measurement


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyse", aliases=["analyze"],
                       help="run QC analyses on images and print the results")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--protocol", "-p", metavar="NAME",
                   help="QC test to run (default: chosen from each series)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="protocol parameter (repeatable)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--detail", action="store_true",
                   help="JSON: include ROIs, curves and extra detail")
    p.add_argument("--jobs", "-j", type=_jobs, default=None, metavar="N",
                   help="analyse up to N series at once in separate processes "
                        "(default: the number of cores; 1: one after the other)")
    p.add_argument("--progress", action="store_true",
                   help="print 'analysed 3/52 ...' lines on stderr (default: only on a terminal)")
    g = p.add_argument_group("saving to the results database (see `imgqa db`)")
    g.add_argument("--save", action="store_true",
                   help="save the results as a QC session of the matching equipment")
    who = g.add_mutually_exclusive_group()
    who.add_argument("--equipment", metavar="ID",
                     help="judge (and save) against this equipment (id, name or serial) "
                          "instead of recognising it from the image header")
    who.add_argument("--create-equipment", action="store_true",
                     help="register equipment not yet known (from the image header)")
    g.add_argument("--performed-by", metavar="NAME", default=None,
                   help="who did the test (default: you)")
    g.add_argument("--comment", default="", help="comment stored with the session")
    g.add_argument("--archive", metavar="DIR", default=None,
                   help="with --save: copy the images into this image archive folder (a "
                        "department share) and record them with the session; default "
                        "$IMGQA_ARCHIVE or the GUI setting, else not archived")
    g.add_argument("--allow-duplicate", action="store_true",
                   help="save even if these images were already saved for the same test and "
                        "equipment (needs --reason)")
    g.add_argument("--reason", default="", metavar="TEXT",
                   help="with --allow-duplicate: why the images are saved again (stored with "
                        "the session and audited)")
    p.set_defaults(func=run)


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes ≥ 1, not {text!r}")
    return n


def analyse_loaded(series, protocol_name, params, problems, jobs=1, progress=None):
    """Run the analyses; each series that fails becomes a problem and the others go on.

    Whatever goes wrong inside one series' analysis (a refused geometry, a phantom not found,
    or an unforeseen error in a kernel) is appended to ``problems`` as ``{"path", "error",
    "kind", "protocol"}`` with a plain message and hint; no traceback reaches the console
    (``-v`` logs it). With ``jobs`` > 1 the series are analysed in that many processes
    (`imgqa.parallel`); the results are the same and in the same order. Returns the results.
    """
    from imgqa.parallel import analyse_parallel

    results, failed = analyse_parallel(list(series), protocol_name, jobs=jobs,
                                       progress=progress, **params)
    problems.extend(p.to_dict() for p in failed)
    return results


def _may_hold_several_series(paths) -> bool:
    """A folder, an archive or several files: worth starting worker processes early for."""
    return len(paths) > 1 or any(os.path.isdir(p) or str(p).lower().endswith(".zip")
                                 for p in paths)


def _progress_printer(enabled: bool):
    """``analysed 3/52 …`` on stderr after each unit (stdout stays clean for JSON)."""
    if not enabled:
        return None

    def show(done: int, total: int, unit) -> None:
        what = ", ".join(s.header.series_description or s.modality for s in unit[:2])
        print(f"analysed {done}/{total} {what}".rstrip(), file=sys.stderr, flush=True)

    return show


def run(args: argparse.Namespace) -> int:
    if args.allow_duplicate and not args.reason.strip():
        print("imgqa analyse: error: --allow-duplicate needs --reason saying why the same "
              "images are saved again.", file=sys.stderr)
        return 2
    from imgqa.parallel import span  # timeline of the phases when tuning (IMGQA_TRACE_BATCH)

    params = parse_params(args.param)
    _check_params(args.protocol, params)
    import time

    with span("main.load", cpu_before=time.process_time()):  # CPU of the start-up
        series = _load(args)
    problems = [{"path": p.path, "error": p.error, "kind": p.kind} for p in series.problems]
    with span("main.analyse"):
        results = _analyse_or_leave(args, series, params, problems)
    with span("main.judge"):
        results, saved = judge_and_save(results, series, args, problems)
    with span("main.output"):
        if args.format == "json":
            print_json({"imgqa_version": __version__,
                        "results": [_with_labels(r.protocol, r.to_dict(detail=args.detail))
                                    for r in results],
                        "problems": problems, "saved": saved})
        else:
            _print_tables(results, saved, problems)
    if not results and not problems:
        return 1
    return 1 if problems else 0


def _load(args: argparse.Namespace):
    """Read the inputs; for several series with more than one job, headers are read in worker
    processes while this one imports the kernels they will need (`imgqa.parallel`)."""
    if args.jobs == 1 or not _may_hold_several_series(args.paths):
        return load(args.paths)
    from imgqa.parallel import load_parallel, warm_up

    warm_up()  # a fork server (threaded callers) imports the analysis code meanwhile
    try:
        return load_parallel(args.paths, args.jobs)
    except KeyboardInterrupt:  # the reading workers are stopped; leave as during analysis
        sys.stderr.flush()
        os._exit(130)


def _check_params(protocol: str | None, params: dict) -> None:
    """An unknown protocol or parameter is a usage error (exit 2), found before loading."""
    if protocol:
        try:
            get_protocol(protocol).resolve_params(params)
        except ParameterError as exc:
            raise UsageError(exc.message, hint=exc.hint) from exc
    elif params:  # tests chosen per series: a name no test knows is still a typing error
        unknown = sorted(set(params) - {p.name for proto in all_protocols()
                                        for p in proto.parameters})
        if unknown:
            raise UsageError(f"No QC test has a parameter {', '.join(map(repr, unknown))}.",
                             hint="Run `imgqa protocols` to see each test's parameters.")


def _analyse_or_leave(args: argparse.Namespace, series, params: dict, problems: list[dict]):
    """`analyse_loaded` with progress lines; Ctrl+C during a parallel batch exits with 130."""
    show = _progress_printer(args.progress or sys.stderr.isatty())
    try:
        return analyse_loaded(series, args.protocol, params, problems, jobs=args.jobs,
                              progress=show)
    except KeyboardInterrupt:
        if args.jobs == 1:
            raise
        # The workers are stopped; the executor's helper threads may still be tearing down
        # their pipes (in Python 3.11 they can print a traceback or block the interpreter's
        # exit). Nothing is being saved yet (saving comes after analysis), so leave now: 130.
        sys.stderr.flush()
        os._exit(130)


def _print_tables(results, saved: list[dict], problems: list[dict]) -> None:
    """The table form: per result a header, the why line, its measurements and warnings."""
    for r in results:
        s = r.series
        head = f"{r.protocol} v{r.protocol_version}"
        if r.label:
            head += f" [{r.label}]"
        print(f"{head} — {s.get('modality')} {s.get('manufacturer', '')} "
              f"{s.get('model', '')} {s.get('series_description', '')}".rstrip())
        if r.choice_reason:  # why this test ran (issue 11): the line under the series
            print(f"  why: {r.choice_reason}")
        # labels for people, key measurement first; the internal name (as in JSON) last
        key = key_measurement(r.protocol)
        ms = sorted(r.measurements, key=lambda m: m.name != key)
        print(table([[measurement_label(r.protocol, m.name), fmt_value(m.value), m.unit,
                      m.status or "", m.name] for m in ms],
                    ["Measurement", "Value", "Unit", "Status", "Internal name"]))
        for w in r.warnings:
            if w != r.choice_reason:  # the generic.roi fall-back is already the why line
                print(f"  warning: {w}")
        print()
    for sv in saved:
        print(f"Saved as QC session {sv['session_id']} of {sv['equipment']} "
              f"(equipment {sv['equipment_id']})"
              + (f"; {sv['archived_files']} image file(s) kept in the image archive."
                 if sv.get("archived_files") else "."))
    for p in problems:
        print(f"Not analysed: {p['path']}\n  {p['error']}", file=sys.stderr)


def _with_labels(protocol: str, d: dict) -> dict:
    """A result's JSON with each measurement's human ``label`` added (names stay as they are;
    the contract allows extra fields)."""
    for m in d["measurements"]:
        m["label"] = measurement_label(protocol, m["name"])
    return d


def judge_and_save(results, series, args, problems):
    """Fill each measurement's status and, with ``--save``, store the results.

    With ``--save``, ``--equipment`` or ``--create-equipment``, or when a results database is
    configured (``--db``/``IMGQA_DB``) or already exists, each result is judged against the
    baseline and tolerance in force for its equipment (recognised from the header unless
    ``--equipment`` names it). Otherwise only the packaged defaults with a fixed reference
    apply (e.g. water 0 ± 5 HU); baseline-relative criteria give NO_TOL.
    Returns (results with statuses, list of saved-session summaries).
    """
    from imgqa.store.defaults import evaluate_with_defaults

    if not results:
        return results, []
    wants_store = args.save or args.equipment or args.create_equipment
    if not wants_store and not _database_configured(args):
        return [evaluate_with_defaults(r) for r in results], []
    from imgqa.store import DuplicateSessionError, EquipmentRecord, open_store

    store = open_store(args.db)
    with store:
        fixed = store.find_equipment(args.equipment) if args.equipment else None
        by_equipment: dict[int, tuple[EquipmentRecord, list]] = {}
        judged = []
        for r in results:
            eq = fixed or store.match_equipment(r.series)
            if eq is None and args.create_equipment:
                src = _series_for(series, r)
                eq = store.create_equipment_from_series(src if src is not None else r.series)
                print(f"Registered new equipment {eq.id}: {eq.label()}", file=sys.stderr)
            if eq is None:
                judged.append(evaluate_with_defaults(r))
                if args.save:
                    s = r.series
                    problems.append({"path": s.get("series_description") or r.protocol,
                                     "error": "Not saved: unknown equipment ("
                                     f"{s.get('manufacturer', '')} {s.get('model', '')} "
                                     f"serial {s.get('serial') or '?'}, station "
                                     f"{s.get('station_name') or '?'}). Use --create-equipment "
                                     "or --equipment ID."})
                continue
            r = store.evaluate(eq.id, r)
            judged.append(r)
            by_equipment.setdefault(eq.id, (eq, []))[1].append(r)
        saved = []
        if args.save:
            from imgqa.cli.archive_check import archive_root_from
            from imgqa.io.image_archive import ImageArchiveError, archive_results

            root = archive_root_from(getattr(args, "archive", None))
            reason = args.reason if getattr(args, "allow_duplicate", False) else ""
            for eq, rs in by_equipment.values():
                try:  # copied first: if the save then fails, the copies are reused next time
                    files = archive_results(root, eq.name, rs) if root is not None else []
                except ImageArchiveError as exc:
                    problems.append({"path": rs[0].series.get("series_description")
                                     or rs[0].protocol, "error": f"Not saved: {exc.message}",
                                     "kind": "archive"})
                    continue
                try:
                    sess = store.save_session(eq.id, rs, performed_by=args.performed_by,
                                              comment=args.comment, duplicate_reason=reason,
                                              files=files)
                except DuplicateSessionError as exc:  # the other devices' sessions go on
                    problems.append({
                        "path": rs[0].series.get("series_description") or rs[0].protocol,
                        "error": f"Not saved: {exc.message} To save them again anyway, add "
                                 "--allow-duplicate --reason \"why\".", "kind": "duplicate",
                        "earlier_sessions": [e.session_id for e in exc.earlier]})
                    continue
                saved.append({"session_id": sess.id, "session_uid": sess.uid,
                              "equipment_id": eq.id, "equipment": eq.name,
                              "archived_files": len(files)})
    return judged, saved


# `imgqa.store.db.DB_FILENAME`, named here so that a plain analysis without any database does
# not import SQLAlchemy just to find that the file is absent (tests/test_lazy_imports.py).
DEFAULT_DB_FILENAME = "imgqa.sqlite3"


def _database_configured(args) -> bool:
    from imgqa.paths import data_dir

    if args.db or os.environ.get("IMGQA_DB"):
        return True
    return (data_dir() / DEFAULT_DB_FILENAME).exists()


def _series_for(series, result):
    uid = result.series.get("series_uid")
    for s in series:
        if s.header.series_uid == uid:
            return s
    return None
