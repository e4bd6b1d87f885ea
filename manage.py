#!/usr/bin/env python
import os
import sys
from pathlib import Path


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # A second terminal beside `make run`: the demo's secrets in var/ mean demo mode, unless the
    # environment says otherwise (DEMO_MODE=0, or a SECRET_KEY of its own).
    var = Path(os.environ.get("VAR_DIR") or Path(__file__).resolve().parent / "var")
    if "DEMO_MODE" not in os.environ and not os.environ.get("SECRET_KEY") and (var / "secret_key").exists():
        os.environ["DEMO_MODE"] = "1"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
