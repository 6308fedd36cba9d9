"""Entry of the packaged ``heatmeter-gui`` (PyInstaller): the desktop app, or ``--render-report``
(the PDF renderer ``heatmeter report`` starts in a child process)."""
import sys

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--render-report":
        from app.ui.reports.__main__ import main as render

        sys.exit(render(sys.argv[2:]))
    from app.ui.main import main

    sys.exit(main())
