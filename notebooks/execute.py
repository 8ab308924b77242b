"""Execute notebooks in place with nbclient (outputs are committed): `make notebooks` or
`python notebooks/execute.py notebooks/NAME.ipynb ...`."""

import os
import sys
from pathlib import Path

import nbclient
import nbformat


def execute(path: Path, timeout: int = 1800) -> None:
    # The kernel must use the inline backend so figures land in the notebook.
    os.environ.pop("MPLBACKEND", None)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(nb, path)
    print(f"executed {path}")


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or sorted(Path(__file__).parent.glob("*.ipynb"))
    for p in paths:
        execute(p)
