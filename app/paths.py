"""Where heatmeter keeps its files on this computer: every such path in one place.

Plain Python (no Qt), read by the storage layer, the CLI and the desktop app.
The folders follow the platform's conventions (``platformdirs``, app name
``heatmeter``); on Linux, for example:

==========================  ===============================================
data folder                 ``~/.local/share/heatmeter``
default register            ``<data folder>/register.db``
demo folder                 ``<data folder>/demo`` (its register: ``demo-register.db``)
configuration folder        ``~/.config/heatmeter``
your own make -> FLAG rows  ``<configuration folder>/mbus_manufacturers.csv``
import mapping profiles     ``<configuration folder>/import-profiles`` (one JSON file each)
documents folder            ``~/Documents/heatmeter``
commissioning certificates  ``<documents folder>/certificates``
==========================  ===============================================

Each function works the path out when called (so ``XDG_*`` variables set
later still count) and creates nothing: whoever writes there creates the
folder. The desktop app's own settings are kept by Qt (``app.ui.settings``).
"""
from __future__ import annotations

from pathlib import Path

APP_NAME = "heatmeter"
#: The register's SQLite file in the data folder.
DATABASE_FILE = "register.db"
#: The demo register's SQLite file in the demo folder.
DEMO_DATABASE_FILE = "demo-register.db"
#: The user's own make -> M-Bus FLAG code rows, in the configuration folder (they win over the shipped table).
MANUFACTURERS_FILE = "mbus_manufacturers.csv"


def _platformdirs():
    import platformdirs  # on first use only: most commands never need a folder

    return platformdirs


def data_dir() -> Path:
    """The user's data folder: the default register and the demo folder."""
    return Path(_platformdirs().user_data_dir(APP_NAME, appauthor=False))


def default_database_file() -> Path:
    """The register used without ``--db`` or ``$HEATMETER_DB``."""
    return data_dir() / DATABASE_FILE


def demo_dir() -> Path:
    """Where demo mode keeps its register and files."""
    return data_dir() / "demo"


def demo_database_file(folder: str | Path | None = None) -> Path:
    """The demo register in ``folder`` (default: ``demo_dir()``)."""
    return Path(folder if folder is not None else demo_dir()) / DEMO_DATABASE_FILE


def config_dir() -> Path:
    """The user's configuration folder."""
    return Path(_platformdirs().user_config_dir(APP_NAME, appauthor=False))


def user_manufacturers_csv() -> Path:
    """The user's own make -> FLAG code table (``make,flag`` rows), read before the shipped one."""
    return config_dir() / MANUFACTURERS_FILE


def import_profiles_dir() -> Path:
    """The import wizard's saved column mappings (one JSON file per profile)."""
    return config_dir() / "import-profiles"


def documents_dir() -> Path:
    """heatmeter's folder among the user's documents."""
    return Path(_platformdirs().user_documents_dir()) / APP_NAME


def certificates_dir() -> Path:
    """Where signed commissioning certificates go unless the user chose a folder."""
    return documents_dir() / "certificates"
