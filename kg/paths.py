"""Where the build's inputs live.

In a checkout they are ./build/ (input data) and ./ontology/ beside this
package; an installed wheel carries the same folders as kg/_inputs and
kg/_ontology (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent
_ROOT = _PKG.parent


def _pick(packaged: str, checkout: str) -> Path:
    candidate = _PKG / packaged
    return candidate if candidate.is_dir() else _ROOT / checkout


INPUTS_DIR: Path = _pick("_inputs", "build")
ONTOLOGY_DIR: Path = _pick("_ontology", "ontology")
PROJECT_ROOT: Path = _ROOT


def display(path: Path) -> str:
    """A path as shown in messages: relative to the project root where possible."""
    try:
        return str(path.resolve().relative_to(_ROOT))
    except ValueError:
        return str(path)
