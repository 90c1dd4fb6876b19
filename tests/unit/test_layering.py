"""The import contracts of pyproject.toml hold (import-linter).

They state the layering of docs/architecture.md: domain packages below
the services, no service importing another, drydock_client independent of
drydockd, the executor away from the database.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def test_import_contracts_are_kept():
    lint = os.path.join(os.path.dirname(sys.executable), 'lint-imports')
    result = subprocess.run([lint, '--no-cache'], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert 'Contracts: 3 kept, 0 broken.' in result.stdout
