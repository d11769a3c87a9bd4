"""LibreOffice (Debian's, headless) as the tests' proof that a generated document opens."""

from __future__ import annotations

import subprocess
from pathlib import Path


def convert(document: Path, to: str, outdir: Path) -> None:
    """Open `document` in LibreOffice and save it in `outdir` with the filter `to` (e.g.
    "csv:Text - txt - csv (StarCalc):44,34,76"); raises if LibreOffice cannot open it. Each call has its
    own user profile beside the output, so runs never share (or lock) one."""
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{outdir / '.lo-profile'}",
            "--headless",
            "--convert-to",
            to,
            "--outdir",
            str(outdir),
            str(document),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
