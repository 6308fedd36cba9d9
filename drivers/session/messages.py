"""Every sentence the bus session says to a user, in one place.

One line each: what happened, what is kept, what to do. The GUI shows them in
its banner (the hints name its pages and keys); the CLI prints the driver's own
error text with the hints of :func:`cli_hint`.
"""
from __future__ import annotations

from drivers import errors as e


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def describe_error(exc: BaseException, *, port: str | None = None, kept: int | None = None,
                   what: str = "") -> str:
    """One line of plain words for a driver error: what happened and what to do.

    ``port``: the port's name for the message; ``what``: the meter asked for;
    ``kept``: how many meters found so far stay in the list (scans).
    """
    where = port or "the port"
    text = " ".join(str(exc).split())
    if isinstance(exc, e.PortLost):
        msg = f"lost the connection to {where} (USB head unplugged or gateway closed)"
        tail = "plug it back in and connect again on the Connect page"
    elif isinstance(exc, e.PortBusy):
        msg, tail = f"{where} is busy: another program has it open", "close that program and try again"
    elif isinstance(exc, e.PortNotFound):
        msg, tail = f"{where} is not there", "check the cable or pick another port on the Connect page"
    elif isinstance(exc, e.PortPermission):
        msg, tail = f"no permission to open {where}", "ask for access to serial ports (dialout group)"
    elif isinstance(exc, (e.ConnectionRefused, e.GatewayUnreachable)):
        msg, tail = text, "check the gateway address and that it is switched on"
    elif isinstance(exc, e.BaudNotSupported):
        msg, tail = text, "pick another baud rate"
    elif isinstance(exc, e.NoAnswer):
        msg, tail = f"no answer{(' from ' + what) if what else ''} ({text})", \
            "check the wiring, the address and the baud rate; a battery meter may need its optical head profile"
    elif isinstance(exc, e.Collision):
        msg, tail = f"several meters answered at once{(' at ' + what) if what else ''}", \
            "read them one by one by secondary address (Scan > Secondary)"
    elif isinstance(exc, e.WrongKey):
        msg, tail = f"{text}{(' (' + what + ')') if what else ''}: nothing of it is kept", \
            "import the meter's right key (Radio page, Keys…; or heatmeter keys import) and read again"
    elif isinstance(exc, e.ChecksumError):
        msg, tail = f"damaged answers{(' from ' + what) if what else ''} ({text})", "check the line and try again"
    else:                                    # UnexpectedAnswer (a wrong meter ...), other bus errors
        msg, tail = text or type(exc).__name__, ""
    parts = [_first_upper(msg)]
    if kept is not None:
        parts.append(f"the {kept} meter{'s' if kept != 1 else ''} found so far {'are' if kept != 1 else 'is'} kept"
                     if kept else "nothing had been found yet")
    if tail:
        parts.append(tail)
    return "; ".join(parts) + "."


def port_lost(message: str, *, port: str | None = None) -> str:
    """The banner line when a live poll (not an operation of the user's) found the port gone."""
    return describe_error(e.PortLost(message), port=port)


def short_miss(exc: BaseException) -> str:
    """A few words for one missed live poll (shown beside the counts)."""
    if isinstance(exc, e.NoAnswer):
        return "no answer"
    if isinstance(exc, e.Collision):
        return "garbled answer (collision)"
    if isinstance(exc, e.ChecksumError):
        return "damaged answer"
    return one_line(exc)


def wrong_meter(got: str, expected: str) -> str:
    """The identity check failed: ``got`` answered where ``expected`` was asked for."""
    return f"another meter answered ({got}, not {expected})"


def optical_anonymous(expected: str) -> str:
    """An optical readout that does not say which meter it is, where a particular one was asked for."""
    return f"the meter on the optical head did not give its identification (expected {expected})"


def reconfiguration(make: str, model: str | None, models, limit: int, sure: bool) -> str:
    """The warning before a write to a meter that counts its reconfigurations."""
    which = " or ".join(models)
    if sure:
        return (f"{make} {model} counts every reconfiguration and permits only {limit}: this write uses one "
                "of them (the meter logs it)")
    return (f"if this {make} meter is a {which}, this write uses one of its {limit} permitted "
            "reconfigurations (the meter logs it)")


MBUS_ONLY_WRITES = ("writes to a meter (address, baud rate, clock) go over M-Bus: choose the M-Bus protocol "
                    "(wired, or the optical head in M-Bus mode)")


def cli_hint(exc: BaseException, *, has_preamble: bool, secondary=None, searched_bauds: bool = False) -> str:
    """What the CLI adds to a driver error's own text (a hint with the option to try), or "".

    ``searched_bauds``: the other baud rates were tried for the meter, in vain.
    ``secondary``: the :class:`drivers.address.SecondaryMask` the command was given (a mask with
    wildcards, such as a bare id that several meters share, collides: the hint names the full form)."""
    if isinstance(exc, e.Collision) and secondary is not None and not secondary.exact:
        return f" ({shared_id_hint(secondary.digits)})"
    if isinstance(exc, e.NoAnswer):
        other = "nothing answers there at the other baud rates either; " if searched_bauds else ""
        if not has_preamble:
            return f" ({other}a battery meter on an optical head may need --wakeup)"
        if other:
            return f" ({other}check the wiring and the address)"
    if isinstance(exc, e.WrongKey):
        return " (nothing kept; give the meter's right key with --keys or heatmeter keys import)"
    return ""


def other_baud(baud_now: int, baud_found: int) -> str:
    """The CLI's lead when a meter did not answer at ``baud_now`` but does at ``baud_found``."""
    return f"it answers at {baud_found} Bd, not {baud_now} Bd: run again with --baud {baud_found}"


def scan_other_baud(baud_now: int, baud_found: int) -> str:
    return f"nothing answered at {baud_now} Bd, but the line answers at {baud_found} Bd: scanning at {baud_found} Bd"


def scan_fixed_rate(baud_now: int) -> str:
    return (f"nothing answered at {baud_now} Bd; the gateway sets the line's baud rate: check its setting, "
            "or give its rate with --baud")


# --- why an operation cannot start now ----------------------------------------------------

def scan_running(name: str) -> str:
    return f"{name} is running on the bus: wait for it to finish or cancel it (Esc)."


POLLING_BLOCKS_SCAN = "Live polling is using the bus: stop it first (Live page, Ctrl+R), then scan."
LOST = "The connection was lost: plug the head back in and connect again (Connect page)."
CONNECTING = "Still connecting: try again in a moment."
NOT_CONNECTED = "Not connected: choose a port or the simulated bus on the Connect page first."
NOT_CONNECTED_NOW = "not connected (the connection was closed or lost)"
SELECT_FIRST = "Select a meter first (Scan page: pick one from the list)."


def bus_busy(holder: str | None) -> str:
    return f"the bus is busy ({holder or 'another operation'})"


def poll_busy(holder: str | None) -> str:
    return f"bus busy ({holder})"


def poll_not_connected(lost: bool) -> str:
    return "connection lost" if lost else "not connected"


def not_in_list(key: str) -> str:
    return f"No meter {key} in the list: scan first."


# --- the line test -----------------------------------------------------------------------------

def line_one_silent(baud: int) -> str:
    return f"One meter answers at {baud} Bd (it did not send its data)."


def line_one(meter_words: str, baud: int, secondary: bool = False) -> str:
    return f"{meter_words} answers at {baud} Bd{' (by secondary address)' if secondary else ''}."


def line_one_secondary_silent(baud: int) -> str:
    return f"One meter answers at {baud} Bd by secondary address."


def line_several(baud: int) -> str:
    return f"Several meters answer at {baud} Bd: scan to list them."


def line_nothing_at(baud: int) -> str:
    return f"Nothing answers at {baud} Bd."


def line_moved(start_baud: int, baud: int) -> str:
    return f" (nothing answered at {start_baud} Bd; the port is now at {baud} Bd)"


def line_nothing(tried: list[int]) -> str:
    rates = ", ".join(str(b) for b in tried)
    return (f"Nothing answered (tried {rates} Bd): check the wiring, the bus power and the optical head "
            "profile.")


# --- writes ----------------------------------------------------------------------------------------

FULL_ADDRESS_HINT = ("address each meter by its full secondary address ID.MAN.VV.MM (e.g. 71234567.KAM.08.04; "
                     "a secondary search lists them)")


def same_address(address: int) -> str:
    return f"the meter is already at primary address {address}: nothing to write"


def already_there(address: int) -> str:
    return f"already at primary address {address} (it answers there): nothing written"


def address_in_use(address: int, occupant: str, target: str = "") -> str:
    """The new primary address already answers: nothing was written (``occupant``: ID.MAN.VV.MM, or ""
    when several meters answered at once)."""
    who = (f"meter {occupant} answers there" if occupant
           else "several meters answer there at once")
    what = f" to {target}" if target else ""
    return (f"primary address {address} is in use ({who}): nothing was written{what}; choose a free address "
            f"(a primary scan shows the ones in use); to sort out meters sharing an address, {FULL_ADDRESS_HINT}")


def recover_shared_address(address: int) -> str:
    """After a write that was acknowledged but not confirmed (two meters may now share ``address``)."""
    return f"if two meters now share address {address}, {FULL_ADDRESS_HINT} and give one of them another address"


def shared_id_hint(mask: str) -> str:
    """A selection by a bare identification number collided: several meters share it."""
    return f"several meters share the id {mask}: {FULL_ADDRESS_HINT}"
