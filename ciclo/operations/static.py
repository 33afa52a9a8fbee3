"""Static files under WhiteNoise: the policy header on each, and whether `ciclo collectstatic` has run."""

from __future__ import annotations

from typing import Any

# collectstatic's own default ignore patterns: what it leaves out, a check must not miss.
_IGNORED = ["CVS", ".*", "*~"]


def add_policy_header(headers: Any, path: str, url: str) -> None:
    """WHITENOISE_ADD_HEADERS_FUNCTION: a static file carries the Content-Security-Policy every page does.

    WhiteNoise answers before ciclo.security's middleware sees the request; an SVG opened on
    its own is a document too.
    """
    from ciclo.security import CONTENT_SECURITY_POLICY

    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY


def uncollected() -> list[str] | None:
    """The static files `ciclo collectstatic` has yet to collect ([] when none), or None when nothing needs collecting.

    With DEBUG off the storage names each file by its content's hash, from the manifest that
    collectstatic writes into STATIC_ROOT; a file missing from it fails every page that links it.
    """
    from django.contrib.staticfiles import finders
    from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage

    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return None
    collected, _hash = staticfiles_storage.load_manifest()
    found = {path for finder in finders.get_finders() for path, _storage in finder.list(_IGNORED)}
    return sorted(found - collected.keys())
