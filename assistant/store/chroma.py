"""The dense store: an embedded Chroma ``PersistentClient`` or a Chroma server, telemetry off.

One collection per index generation (``chunks_gN``); on a shared server the
names carry a hash of the advisor home, so several homes can share one server.
"""

from __future__ import annotations

import contextlib
import os

from assistant.config import Settings
from assistant.errors import IndexMissingError, InputError, storage_error
from assistant.store.files import REBUILD_HINT

COLLECTION_PREFIX = "chunks_g"


def chroma_client(settings: Settings):
    """Embedded PersistentClient, or HttpClient when a server URL is configured. Telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        try:
            u = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
            host, port = u.hostname, u.port
        except ValueError as exc:  # "Invalid IPv6 URL", a port that is not a number
            raise InputError(f"bad Chroma URL '{settings.chroma_url}' ({exc}; expected http://host:port)") from None
        if not host:
            raise InputError(f"bad Chroma URL '{settings.chroma_url}' (expected http://host:port)")
        try:
            return chromadb.HttpClient(host=host, port=port or 8000, ssl=u.scheme == "https", settings=chroma_settings)
        except Exception as exc:
            raise IndexMissingError(f"cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}); check --chroma-url / ADVISOR_CHROMA_URL") from None
    path = settings.index_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        with contextlib.suppress(Exception):  # Chroma caches the half-started client per path; drop it so a rebuild can open a new store
            from chromadb.api.client import SharedSystemClient

            SharedSystemClient._identifier_to_system.pop(str(path), None)
        problem = storage_error(exc, path)
        if problem is None and not os.access(path, os.W_OK):  # Chroma opens its store read-write, even to search
            problem = storage_error(PermissionError(13, "read-only", str(path)))
        if problem is not None:
            raise problem from None
        raise IndexMissingError(f"the Chroma store at {path} is corrupt or unreadable ({type(exc).__name__}); {REBUILD_HINT}") from None

def collection_name(settings: Settings, gen: int) -> str:
    # one Chroma server may hold several advisor homes: namespace server collections by home
    if settings.chroma_url:
        import hashlib

        tag = hashlib.sha1(str(settings.home.resolve()).encode()).hexdigest()[:8]
        return f"advisor_{tag}_{COLLECTION_PREFIX}{gen}"
    return f"{COLLECTION_PREFIX}{gen}"
