"""Imported first by the fork server (`imgqa.parallel._PRELOAD`), before anything loads pydicom
or SciPy: the lean imports of the ``imgqa`` command (`imgqa._lean_imports`), so that the server,
and every worker it forks, starts as fast as the command and decodes the same way (compressed
images load their codecs on first use). Installing those hooks is this module's only effect;
``IMGQA_LEAN_IMPORTS=0``, inherited from the parent, turns them off here too.
"""

from __future__ import annotations

from imgqa import _lean_imports

_lean_imports.apply()
