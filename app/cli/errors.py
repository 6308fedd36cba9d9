"""Errors a command reports to the user as one line, with an exit status."""


class UserError(Exception):
    """A mistake in the user's input or environment (not a bug).

    The CLI prints ``heatmeter: <message>`` on stderr and exits with ``status``.
    Statuses follow the bus contract: 1 = nothing found / no answer,
    2 = bad arguments or a resource that cannot be opened.
    """

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status
