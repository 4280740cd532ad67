"""Control of a tor process through stem: launch (private networks only), attach, bootstrap, health, NEWNYM.

Public API:

* :func:`check_private_network_torrc(text)` -- raises :class:`TorControlError` unless the
  torrc has ``TestingTorNetwork 1``, its own ``DirAuthority`` lines (all on loopback) and
  ``UseDefaultFallbackDirs 0``, and nothing that names other directories or hides lines
  from the check (``FallbackDir``, ``%include``, ``+``/``/`` prefixes, ...); this code
  path never starts a tor that could reach the public network.
* :func:`launch_tor(torrc_path, ...)` -> :class:`LaunchedTor` -- starts
  ``tor --defaults-torrc <empty> -f <torrc>`` and waits (with a deadline) until its
  ControlPort accepts connections.  Raises TorControlError when tor exits or the deadline passes.
  It records the tor in ``<torrc>.onionscope.pid`` (PID and start time), so a tor onionscope
  launched can be told from one somebody else runs:
  :func:`launched_torrc(controller)` -> the torrc of the tor behind ``controller`` if onionscope
  launched it (else None); :func:`launched_tor_pid(torrc)` -> its PID while it runs;
  :func:`stop_launched_tor(torrc)` -> the PIDs stopped (verified by PID, start time and ``-f torrc``).
  The tor pool's monitor (:mod:`crawler.tor.pool`) restarts such a tor when it fails.
* :func:`attach(control, cookie_path=None, password=None)` -> ``stem.control.Controller``,
  authenticated by password, by the given cookie file, or by whatever tor offers;
  :func:`attach_when_up(control, timeout, ...)` waits for the ControlPort to open first.
* :func:`bootstrap_status(controller)` -> :class:`BootstrapStatus`;
  :func:`wait_for_bootstrap(controller, timeout, progress=None)` polls until 100 %,
  calling ``progress(percent, summary)`` on every change; raises TorControlError at the deadline.
* :func:`health(controller)` -> :class:`TorHealth` (version, bootstrap, circuits
  established, SOCKS listeners, built circuits).
* :func:`newnym(controller, max_wait=...)` -> :class:`NewnymResult` -- respects tor's
  NEWNYM rate limit: waits up to ``max_wait`` seconds for it, else reports the wait.
* :func:`list_circuits(controller)` -> list of :class:`CircuitSummary`.

Every function that talks to tor raises :class:`TorControlError` (a UserError) with a
message saying what to do; stem's exceptions do not escape.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import stem
import stem.connection
import stem.control
from stem import Signal

from config.errors import UserError
from config.i18n import N_, _
from config.processes import recorded_pid, recorded_process, stop_processes, write_pidfile

HostPort = tuple[str, int]
ProgressCallback = Callable[[int, str], None]


class TorControlError(UserError):
    """tor's ControlPort could not be reached, refused us, or tor did not do what was asked."""


# --- launch (private networks only)


_OPTION_SEPARATOR = re.compile(r"[ \t]+")
# Control characters tor would read differently from us (\v and \f separate a
# key from its value for tor but end a line for str.splitlines); tab is fine.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def parse_torrc(text: str) -> dict[str, list[str]]:
    """Option name (lower case) -> values, in order; comments and blank lines skipped.

    Lines end at ``\n`` only and a name ends at the first space or tab, as
    for tor.  Prefixes (``+``, ``/``) and directives (``%include``) are kept
    in the name; :func:`check_private_network_torrc` refuses them.
    """
    options: dict[str, list[str]] = {}
    for raw_line in text.split("\n"):
        line = raw_line.split("#", 1)[0].strip(" \t\r")
        if not line:
            continue
        name, value = (_OPTION_SEPARATOR.split(line, maxsplit=1) + [""])[:2]
        options.setdefault(name.lower(), []).append(value.strip())
    return options


_DIR_AUTHORITY_ADDRESS = re.compile(r"(?:^|\s)(\d{1,3}(?:\.\d{1,3}){3}):\d+(?:\s|$)")
# Options that decide which network tor talks to.  tor also accepts any
# unambiguous-looking prefix of an option name (it warns, then takes the first
# option that starts with it), so a prefix of one of these is refused too.
_NETWORK_OPTIONS = (
    "testingtornetwork", "usedefaultfallbackdirs", "dirauthority", "fallbackdir", "alternatedirauthority",
    "alternatebridgeauthority", "bridge", "usebridges",
)
# Names that bring in public directories or hide lines from this check.
_REFUSED_OPTIONS = {
    "fallbackdir": N_("it names a `FallbackDir` (a directory mirror outside this network)"),
    "dirserver": N_("it uses `DirServer` (tor's old name for DirAuthority); write `DirAuthority`"),
    "alternatedirauthority": N_("it names an `AlternateDirAuthority`"),
    "alternatebridgeauthority": N_("it names an `AlternateBridgeAuthority`"),
}


def _line_problems(text: str) -> list[str]:
    """What in ``text`` tor would read differently from :func:`parse_torrc` (or could pull from elsewhere)."""
    problems = []
    for number, raw_line in enumerate(text.split("\n"), start=1):
        if _CONTROL_CHARACTERS.search(raw_line.rstrip("\r")):
            problems.append(_("line {number} holds control characters", number=number))
            continue
        line = raw_line.split("#", 1)[0].strip(" \t\r")
        if raw_line.rstrip(" \t\r").endswith("\\"):
            # tor joins the next line to this one, so the check would see a line tor never reads.
            problems.append(_("line {number} continues on the next line (ends with a backslash)", number=number))
        if not line:
            continue
        name = _OPTION_SEPARATOR.split(line, maxsplit=1)[0]
        if name.startswith("%"):
            problems.append(_("line {number} is a directive ({name}); an included file would escape this check",
                              number=number, name=name))
        elif name[:1] in ("+", "/"):
            problems.append(_(
                "line {number} prefixes {option} with {prefix} (appends to or clears tor's defaults); "
                "write the option without a prefix", number=number, option=repr(name[1:]), prefix=repr(name[0])
            ))
        else:
            lowered = name.lower()
            abbreviated = [option for option in _NETWORK_OPTIONS if option != lowered and option.startswith(lowered)]
            if abbreviated and lowered not in _NETWORK_OPTIONS:
                problems.append(_("line {number}: {name} abbreviates a network option; write it in full", number=number,
                                  name=repr(name)))
    return problems


def check_private_network_torrc(text: str) -> dict[str, list[str]]:
    """Return the parsed torrc if it belongs to a private test network; raise TorControlError if not.

    Required: ``TestingTorNetwork 1``, ``UseDefaultFallbackDirs 0``, at least one
    ``DirAuthority`` and every DirAuthority address on 127.0.0.0/8, no ``Bridge``/``UseBridges``.
    Refused, because tor would reach other directories or read lines this check
    does not see: ``FallbackDir``, ``AlternateDirAuthority``/``AlternateBridgeAuthority``,
    ``DirServer``, ``%include`` (any ``%`` directive), the ``+Option`` and ``/Option``
    prefixes, abbreviated network options, backslash line continuations and control
    characters.  Option names are compared case-insensitively, as tor does.
    """
    options = parse_torrc(text)
    problems = _line_problems(text)
    if options.get("testingtornetwork", [""])[-1] != "1":
        problems.append(_("it lacks `TestingTorNetwork 1`"))
    if options.get("usedefaultfallbackdirs", [""])[-1] != "0":
        problems.append(_("it lacks `UseDefaultFallbackDirs 0`"))
    for name, problem in _REFUSED_OPTIONS.items():
        if name in options:
            problems.append(_(problem))
    authorities = options.get("dirauthority", [])
    if not authorities:
        problems.append(_("it has no `DirAuthority` lines of its own (tor would use the public authorities)"))
    for line in authorities:
        match = _DIR_AUTHORITY_ADDRESS.search(line)
        if match is None or not match.group(1).startswith("127."):
            problems.append(_("DirAuthority {line} is not on 127.0.0.0/8", line=repr(line)))
    if "bridge" in options or options.get("usebridges", ["0"])[-1] != "0":
        problems.append(_("it uses bridges"))
    if problems:
        raise TorControlError(_(
            "refusing to launch tor: this torrc could contact the public Tor network ({problems}). Only private "
            "test networks are launched from onionscope; attach to your own tor instead.", problems="; ".join(problems)
        ))
    return options


@dataclass
class LaunchedTor:
    """A tor process this code started; :meth:`stop` ends it (and only it)."""

    process: subprocess.Popen[bytes]
    torrc_path: Path
    control: HostPort
    socks: HostPort | None
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after ``timeout``) and wait for it."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def _first_port(values: list[str]) -> HostPort | None:
    for value in values:
        address = value.split()[0] if value else ""
        if address.isdigit() and address != "0":
            return "127.0.0.1", int(address)
        host, sep, port = address.rpartition(":")
        if sep and port.isdigit():
            return host or "127.0.0.1", int(port)
    return None


def launch_tor(torrc_path: Path, *, tor_command: str = "tor", timeout: float = 60.0) -> LaunchedTor:
    """Start tor on a private-network torrc and wait until its ControlPort answers.

    Raises TorControlError if the torrc is not a private-network one, has no numeric
    ControlPort, tor exits early (the message carries the end of its log) or the
    ControlPort does not open within ``timeout`` seconds (tor is then stopped).
    """
    torrc_path = Path(torrc_path).resolve()
    options = check_private_network_torrc(torrc_path.read_text(encoding="utf-8"))
    if options.get("runasdaemon", ["0"])[-1] == "1":
        raise TorControlError(_("{path} sets `RunAsDaemon 1`; onionscope launches tor in the foreground to watch it",
                                path=torrc_path))
    control = _first_port(options.get("controlport", []))
    if control is None:
        raise TorControlError(_("{path} has no numeric `ControlPort`; onionscope needs one to watch tor", path=torrc_path))
    socks = _first_port(options.get("socksport", []))
    empty_defaults = torrc_path.with_name(torrc_path.name + ".defaults")
    empty_defaults.write_text("", encoding="utf-8")
    log_path = torrc_path.with_name(torrc_path.name + ".stdout.log")
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [tor_command, "--defaults-torrc", str(empty_defaults), "-f", str(torrc_path)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal is handled by us, not sent to tor
        )
    launched = LaunchedTor(process, torrc_path, control, socks, log_path)
    try:
        write_pidfile(launched_pidfile(torrc_path), process.pid)
    except ProcessLookupError:
        pass  # tor exited at once; the loop below reports why
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise TorControlError(
                _("tor exited with status {status} while starting from {path}:", status=process.returncode,
                  path=torrc_path) + "\n" + _tail(log_path)
            )
        if _port_open(control):
            return launched
        time.sleep(0.1)
    launched.stop()
    raise TorControlError(_("tor's ControlPort {host}:{port} did not open within {seconds} s:", host=control[0],
                            port=control[1], seconds=f"{timeout:g}") + "\n" + _tail(log_path))


def launched_pidfile(torrc_path: Path) -> Path:
    """Where :func:`launch_tor` records the tor it started from ``torrc_path``."""
    torrc_path = Path(torrc_path)
    return torrc_path.with_name(torrc_path.name + ".onionscope.pid")


def _runs_torrc(arguments: list[str], torrc_path: Path) -> bool:
    """True if ``arguments`` are tor's (argv[0] named ``tor``) with ``-f <torrc_path>``."""
    if not arguments or Path(arguments[0]).name != "tor":
        return False
    return any(arguments[i] == "-f" and arguments[i + 1] == str(torrc_path) for i in range(len(arguments) - 1))


def _torrc_check(torrc_path: Path) -> Callable[[list[str]], bool]:
    resolved = Path(torrc_path).resolve()
    return lambda arguments: _runs_torrc(arguments, resolved)


def launched_tor_pid(torrc_path: Path) -> int | None:
    """The PID of the tor :func:`launch_tor` started from ``torrc_path``, while that very process runs; else None."""
    return recorded_pid(launched_pidfile(Path(torrc_path).resolve()), _torrc_check(torrc_path))


def stop_launched_tor(torrc_path: Path, grace_seconds: float = 10.0) -> list[int]:
    """Stop the tor :func:`launch_tor` last started from ``torrc_path`` (SIGTERM, then SIGKILL); returns the PIDs signalled."""
    process = recorded_process(launched_pidfile(Path(torrc_path).resolve()), _torrc_check(torrc_path))
    return stop_processes([process], grace_seconds, kill_wait_seconds=grace_seconds) if process is not None else []


def launched_torrc(controller: stem.control.Controller) -> Path | None:
    """The torrc of the tor behind ``controller`` if :func:`launch_tor` started that very process, else None.

    Reads ``GETINFO config-file`` and ``process/pid``; None as well when tor does not answer.
    """
    try:
        torrc_path = Path(controller.get_info("config-file")).resolve()
        pid = int(controller.get_info("process/pid"))
    except (stem.ControllerError, stem.SocketError, ValueError, OSError):
        return None
    return torrc_path if launched_tor_pid(torrc_path) == pid else None


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _port_open(address: HostPort) -> bool:
    try:
        with socket.create_connection(address, timeout=0.5):
            return True
    except OSError:
        return False


# --- attach


def attach_when_up(
    control: HostPort, timeout: float, *, cookie_path: Path | None = None, password: str | None = None
) -> stem.control.Controller:
    """Like :func:`attach`, but keeps trying while the ControlPort is not open yet (tor starting).

    Raises TorControlError after ``timeout`` seconds, or at once for an authentication failure.
    """
    deadline = time.monotonic() + timeout
    while True:
        if _port_open(control) or time.monotonic() >= deadline:
            return attach(control, cookie_path=cookie_path, password=password)
        time.sleep(0.2)


def attach(control: HostPort, *, cookie_path: Path | None = None, password: str | None = None) -> stem.control.Controller:
    """An authenticated controller for the ControlPort at ``control``.

    Authentication: ``password`` if given, else the cookie at ``cookie_path`` if given,
    else whatever tor offers (its own cookie path, or no auth).  Raises TorControlError.
    """
    host, port = control
    try:
        controller = stem.control.Controller.from_port(address=host, port=port)
    except stem.SocketError as exc:
        reason = _("connection refused") if "refused" in str(exc).lower() else exc
        raise TorControlError(_("tor ControlPort {host}:{port} could not be reached ({reason}); start tor or set "
                                "ONIONSCOPE_TOR_CONTROL", host=host, port=port, reason=reason)) from None
    try:
        if password is not None:
            controller.authenticate(password=password)
        elif cookie_path is not None:
            stem.connection.authenticate_cookie(controller, str(cookie_path))
            # What stem's own authenticate() does after a cookie: without it the controller
            # counts as unauthenticated, so event listeners are never subscribed (SETEVENTS).
            controller._post_authentication()
        else:
            controller.authenticate()
    except (stem.connection.AuthenticationFailure, stem.ControllerError, stem.SocketError, OSError) as exc:
        controller.close()
        hint = (
            _("check ONIONSCOPE_TOR_PASSWORD")
            if password is not None
            else _("check that {path} is tor's control cookie and readable", path=cookie_path)
            if cookie_path is not None
            else _("set ONIONSCOPE_TOR_COOKIE or ONIONSCOPE_TOR_PASSWORD")
        )
        raise TorControlError(_("tor ControlPort {host}:{port} refused authentication ({problem}); {hint}", host=host,
                                port=port, problem=exc, hint=hint)) from None
    return controller


# --- bootstrap


@dataclass(frozen=True)
class BootstrapStatus:
    percent: int
    tag: str
    summary: str
    warning: str | None = None

    @property
    def done(self) -> bool:
        return self.percent >= 100


# Starts only at the beginning of a word and never backtracks: linear on any line (a run of
# word characters without "=" was quadratic: 17 s for 50k characters).
_PHASE_FIELD = re.compile(r'(?<!\w)(\w++)=("(?:[^"\\]++|\\.)*+"|\S++)')


def parse_bootstrap_phase(line: str) -> BootstrapStatus:
    """Parse ``GETINFO status/bootstrap-phase`` (``NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"``)."""
    fields = {key.upper(): value.strip('"') for key, value in _PHASE_FIELD.findall(line)}
    try:
        percent = int(fields.get("PROGRESS", "0"))
    except ValueError:
        percent = 0
    warning = fields.get("WARNING") if line.split(" ", 1)[0].upper() == "WARN" else None
    return BootstrapStatus(percent, fields.get("TAG", ""), fields.get("SUMMARY", ""), warning)


def bootstrap_status(controller: stem.control.Controller) -> BootstrapStatus:
    """tor's current bootstrap phase.  Raises TorControlError."""
    return parse_bootstrap_phase(_getinfo(controller, "status/bootstrap-phase"))


def wait_for_bootstrap(
    controller: stem.control.Controller, timeout: float, progress: ProgressCallback | None = None
) -> BootstrapStatus:
    """Poll until tor reports 100 %; call ``progress(percent, summary)`` whenever it changes.

    Returns the final status.  Raises TorControlError after ``timeout`` seconds, naming the
    phase tor is stuck in (and its warning, if any).
    """
    deadline = time.monotonic() + timeout
    last: BootstrapStatus | None = None
    while True:
        status = bootstrap_status(controller)
        if progress is not None and (last is None or (status.percent, status.summary) != (last.percent, last.summary)):
            progress(status.percent, status.summary)
        last = status
        if status.done:
            return status
        if time.monotonic() >= deadline:
            message = _("tor did not bootstrap within {seconds} s: stuck at {percent}% ({summary})",
                        seconds=f"{timeout:g}", percent=status.percent, summary=status.summary)
            if status.warning:
                message += _("; tor warns: {warning}", warning=status.warning)
            raise TorControlError(message)
        time.sleep(0.2)


# --- health, circuits, NEWNYM


@dataclass(frozen=True)
class CircuitSummary:
    circuit_id: str
    status: str
    purpose: str
    path: tuple[str, ...]
    hs_state: str | None
    onion_host: str | None


@dataclass(frozen=True)
class TorHealth:
    version: str
    bootstrap: BootstrapStatus
    circuits_established: bool
    socks_listeners: tuple[str, ...]
    built_circuits: int
    problems: tuple[str, ...] = field(default=())

    @property
    def healthy(self) -> bool:
        return not self.problems


def _getinfo(controller: stem.control.Controller, key: str) -> str:
    try:
        return controller.get_info(key)
    except (stem.ControllerError, stem.SocketError) as exc:
        raise TorControlError(_("tor did not answer GETINFO {key} ({problem}); is the ControlPort still up?", key=key,
                                problem=exc)) from None


def list_circuits(controller: stem.control.Controller) -> list[CircuitSummary]:
    """Every circuit tor has, with its relays' nicknames.  Raises TorControlError."""
    try:
        circuits = controller.get_circuits()
    except (stem.ControllerError, stem.SocketError) as exc:
        raise TorControlError(_("tor did not list its circuits ({problem})", problem=exc)) from None
    return [
        CircuitSummary(
            circuit_id=circuit.id,
            status=circuit.status,
            purpose=circuit.purpose or "",
            path=tuple(nickname or fingerprint[:8] for fingerprint, nickname in circuit.path),
            hs_state=circuit.hs_state,
            onion_host=f"{circuit.rend_query}.onion" if circuit.rend_query else None,
        )
        for circuit in circuits
    ]


def health(controller: stem.control.Controller) -> TorHealth:
    """Version, bootstrap, ``status/circuit-established``, SOCKS listeners and built circuits.

    ``healthy`` is True when bootstrap is at 100 % and circuits are established.
    Raises TorControlError when tor does not answer.
    """
    version = str(controller.get_version())
    bootstrap = bootstrap_status(controller)
    established = _getinfo(controller, "status/circuit-established").strip() == "1"
    listeners = tuple(
        value.strip('"') for value in _getinfo(controller, "net/listeners/socks").split() if value.strip('"')
    )
    built = sum(1 for circuit in list_circuits(controller) if circuit.status == "BUILT")
    problems = []
    if not bootstrap.done:
        problems.append(_("bootstrap at {percent}% ({summary})", percent=bootstrap.percent, summary=bootstrap.summary))
    if not established:
        problems.append(_("no circuit established"))
    return TorHealth(version, bootstrap, established, listeners, built, tuple(problems))


@dataclass(frozen=True)
class NewnymResult:
    sent: bool
    waited_seconds: float
    wait_seconds_left: float


def newnym(controller: stem.control.Controller, *, max_wait: float = 15.0) -> NewnymResult:
    """Send SIGNAL NEWNYM once tor's rate limit allows it.

    Waits up to ``max_wait`` seconds for the limit (tor allows one NEWNYM per ~10 s);
    if the wait is longer, sends nothing and reports ``wait_seconds_left``.  stem knows
    only the NEWNYMs sent through this controller; tor itself delays any extra one sent
    by another process, so the limit holds either way.
    Raises TorControlError when tor refuses the signal.
    """
    waited = 0.0
    wait = controller.get_newnym_wait() if not controller.is_newnym_available() else 0.0
    if wait > max_wait:
        return NewnymResult(sent=False, waited_seconds=0.0, wait_seconds_left=wait)
    if wait > 0:
        # tor's rate limit is a fixed interval with nothing to poll, so sleeping it out is the contract.
        time.sleep(wait)
        waited = wait
    try:
        controller.signal(Signal.NEWNYM)
    except (stem.ControllerError, stem.SocketError) as exc:
        raise TorControlError(_("tor refused NEWNYM ({problem})", problem=exc)) from None
    return NewnymResult(sent=True, waited_seconds=waited, wait_seconds_left=0.0)
