"""The applicant's one saved profile: the audit's :class:`~assistant.writing.ApplicantProfile`, kept as validated JSON.

What: :func:`get_profile`, :func:`set_profile`, :func:`edit_profile` (``{"dotted.key": value}``
changes) and :func:`clear_profile`, each for one ``user``.

Why through the audit's model: the saved profile is what the audit (and later the answers and
drafts) read, so it is checked by the same pydantic model and plausibility rules on the way in;
a bad value is refused with the same one-line :class:`~assistant.errors.InputError` the audit
gives, and nothing is written. An edit reads, changes, validates and writes inside one
transaction, so two edits at once cannot lose either change.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from assistant.errors import InputError
from assistant.store import now_utc
from assistant.workspace.db import check_user, json_arg, reading, writing


def _validated(data: Any):
    from assistant.writing import parse_profile

    return parse_profile(data)


def _stored(profile) -> str:
    return json_arg(profile.model_dump(mode="json", exclude_none=True), "profile")


def _raw(db, user: str) -> dict | None:
    """The stored profile as a dict (not validated), or None."""
    row = db.execute("SELECT data FROM profiles WHERE user = ?", (user,)).fetchone()
    return json.loads(row[0]) if row else None


def get_profile(user: str, *, settings=None):
    """The user's saved :class:`~assistant.writing.ApplicantProfile`, or None when there is none."""
    check_user(user)
    with reading(settings) as db:
        data = _raw(db, user) if db is not None else None
    if data is None:
        return None
    try:
        return _validated(data)
    except InputError as exc:  # saved by an older advisor whose checks were looser
        raise InputError(f"the saved profile no longer passes the checks ({exc}); fix it with `advisor profile edit` "
                         "or replace it with `advisor profile set`") from None


def set_profile(user: str, profile, *, settings=None):
    """Save ``profile`` (an ApplicantProfile or a mapping, validated first) in place of any earlier one; returns it."""
    check_user(user)
    profile = _validated(profile)
    data = _stored(profile)
    with writing(settings) as db:
        db.execute("INSERT INTO profiles (user, data, updated_at) VALUES (?, ?, ?) "
                   "ON CONFLICT (user) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                   (user, data, now_utc()))
    return profile


def edit_profile(user: str, changes: Mapping[str, Any], *, settings=None):
    """Apply ``{"dotted.key": value}`` changes to the saved profile (or to an empty one) and save the result.

    ``visa.needs_sponsorship`` reaches into an object, ``exams.0.score`` into a list (an index one
    past the end appends); a value of ``None`` removes the key (or list item), so its default
    comes back. The result must pass the same checks as :func:`set_profile`; otherwise an
    :class:`~assistant.errors.InputError` and the saved profile is unchanged. Returns the new profile.
    """
    check_user(user)
    if not isinstance(changes, Mapping) or not changes:
        raise InputError("give at least one change, e.g. graduation_year=2019")
    with writing(settings) as db:
        data = _raw(db, user) or {}
        for key, value in changes.items():
            apply_change(data, key, value)
        profile = _validated(data)
        db.execute("INSERT INTO profiles (user, data, updated_at) VALUES (?, ?, ?) "
                   "ON CONFLICT (user) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                   (user, _stored(profile), now_utc()))
    return profile


def clear_profile(user: str, *, settings=None) -> bool:
    """Delete the user's saved profile; True if there was one."""
    check_user(user)
    with writing(settings, create=False) as db:
        return db is not None and db.execute("DELETE FROM profiles WHERE user = ?", (user,)).rowcount > 0


def apply_change(data: dict, key: Any, value: Any) -> None:
    """Set (or, for ``None``, remove) ``data[dotted.key]`` in place; InputError for a path that cannot exist."""
    if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
        raise InputError(f"bad profile key {key!r}: use field names joined by dots, e.g. visa.needs_sponsorship or exams.0.score")
    parts = key.split(".")
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, dict):
            slot: Any = part
        elif isinstance(node, list):
            if not part.isdigit() or int(part) > len(node):
                raise InputError(f"bad profile key '{key}': '{where}' must be a list index from 0 to {len(node)}")
            slot = int(part)
        else:
            raise InputError(f"bad profile key '{key}': '{'.'.join(parts[:depth])}' is not an object or a list")
        if last:
            if value is None:
                if isinstance(node, dict):
                    node.pop(slot, None)
                elif slot < len(node):
                    node.pop(slot)
            elif isinstance(node, list) and slot == len(node):
                node.append(value)
            else:
                node[slot] = value
            return
        child = node.get(slot) if isinstance(node, dict) else (node[slot] if slot < len(node) else None)
        if child is None:  # reach into a field not set yet: make the object (or list) on the way
            child = [] if parts[depth + 1].isdigit() else {}
            if isinstance(node, list):
                node.append(child)
            else:
                node[slot] = child
        node = child
