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


def bus_status(exc: BaseException) -> int:
    """The exit status of the bus contract for an error of the bus stack (``drivers.errors``).

    1: nothing found / the meter did not answer or was not the one asked for /
    a write not confirmed; 2: the port could not be opened or was lost; 130: cancelled.
    """
    from drivers import errors

    if isinstance(exc, errors.Cancelled):
        return 130
    if isinstance(exc, errors.PortError):
        return 2
    return 1
