"""Issue 17: the ``imgqa`` process pauses the garbage collector only for its start-up.

`imgqa.cli.main.entry` pauses the collector while the command's modules are imported, freezes
them once the parser is built and again before exiting (docs/validation.md). The command itself
(an analysis, the GUI, the service) must run with the collector on, and a program or test
calling `main` must see no change at all. Nothing here is timed.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import imgqa
from imgqa.cli.main import main

SRC = Path(imgqa.__file__).resolve().parents[1]

# Runs `imgqa protocols --format json` through the real entry point and records, from inside the
# command's own function, whether the collector runs and what start-up froze.
PROBE = r"""
import gc, json, sys
import imgqa.cli.protocols_cmd as cmd
seen = {}
real_run = cmd.run
def run(args):
    seen.update(enabled=gc.isenabled(), frozen=gc.get_freeze_count(),
                numpy_loaded="numpy" in sys.modules)
    return real_run(args)
cmd.run = run
sys.argv = ["imgqa", "protocols", "--format", "json"]
from imgqa.cli.main import entry
out = sys.stdout
sys.stdout = open("/dev/null" if sys.platform != "win32" else "nul", "w")
try:
    entry()
except SystemExit as exc:
    seen["code"] = exc.code
sys.stdout = out
seen["enabled_after"] = gc.isenabled()
print(json.dumps(seen))
"""


def test_the_command_runs_with_the_collector_on_and_start_up_frozen():
    env = dict(os.environ, PYTHONPATH=str(SRC), IMGQA_DATA_DIR=os.devnull + "-none")
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.splitlines()[-1])
    assert seen["code"] == 0
    assert seen["enabled"] and seen["enabled_after"]
    # The protocol declarations (tens of thousands of objects) were frozen at the end of start-up.
    assert seen["frozen"] > 10_000


def test_calling_main_leaves_the_collector_alone(capsys):
    frozen = gc.get_freeze_count()
    assert main(["protocols", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)
    assert gc.isenabled() and gc.get_freeze_count() == frozen
