"""Which process owns a run: ``host:pid:start`` tokens and telling a dead owner from a live one.

A heartbeat only expires after the store's staleness limit (minutes), so a run whose
process was killed a second ago still looks alive by heartbeat alone. On the owner's own
host we can do better: the pid is gone, or belongs to a newer process (its start time
differs), and then the claim is dead at once. On other hosts only the heartbeat can tell.
"""

from __future__ import annotations

import os
import socket


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat from field 3 (state) on (Linux), None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ")"
    fields = stat.rsplit(")", 1)[-1].split()
    return fields if len(fields) > 19 else None


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), None where unknown."""
    fields = _stat(pid)
    return fields[19] if fields else None


def process_owner(pid: int | None = None) -> str:
    """This process's token (or ``pid``'s on this host)."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or '?'}"


def owner_is_dead(owner: str | None) -> bool:
    """True only when ``owner`` certainly no longer runs: same host, and its pid is gone or
    was reused by another process. Unknown hosts and unparsable tokens count as alive."""
    if not owner:
        return False
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    host, pid, start = parts[0], int(parts[1]), parts[2]
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # exists, someone else's
    fields = _stat(pid)
    if fields is None:
        return False
    return fields[0] in ("Z", "X") or (start != "?" and fields[19] != start)  # a zombie, or pid reused
