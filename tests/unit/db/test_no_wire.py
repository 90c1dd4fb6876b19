"""The DB layer applies events and knows nothing of the wire.

Only ``drydockd/receiver/translate.py`` reads reports; the DB API takes
``drydockd.common.events``. This keeps it so: no module of
``drydockd/db`` imports the work-plane protocol or a service, or names a
report method or a report-only field.
"""

import ast
import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
MODULES = sorted(
    os.path.relpath(p, ROOT) for p in glob.glob(
        os.path.join(ROOT, 'drydockd', 'db', '**', '*.py'), recursive=True)
    if os.sep + 'versions' + os.sep not in p)
FORBIDDEN = ('drydockd.messaging', 'drydockd.receiver', 'drydockd.executor',
             'drydockd.manager', 'drydockd.api')
WIRE_WORDS = re.compile(r"_resp\b|subtask_uuid|awaiting_agent_until|"
                        r"task_uuid|node_agent|\btask_status\b|\buid\b")


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize('path', MODULES)
def test_db_module_knows_no_wire(path):
    with open(os.path.join(ROOT, path)) as f:
        source = f.read()
    bad = [m for m in _imports(ast.parse(source))
           if m.startswith(FORBIDDEN)]
    assert not bad, '%s imports %s' % (path, bad)
    words = sorted(set(WIRE_WORDS.findall(source)))
    assert not words, '%s names the wire: %s' % (path, words)
