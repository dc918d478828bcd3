"""The graph page's pure JavaScript modules (find/hide expressions, layout, view state, diffs),
unit-tested with Node's own test runner: `node --test tests/js/`."""
import subprocess
from pathlib import Path

from tests.support import binaries

ROOT = Path(__file__).resolve().parents[2]


def test_the_graph_modules_pass_their_unit_tests():
    node = binaries.require("node")
    result = subprocess.run([str(node), "--test", "--test-reporter=spec", "tests/js/"], check=False, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout or "ℹ fail 0" in result.stdout, result.stdout[-2000:]
