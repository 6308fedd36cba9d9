"""Entry of the packaged ``heatmeter`` command (PyInstaller)."""
import sys

if __name__ == "__main__":
    from app.cli.main import main

    sys.exit(main())
