"""The load bench's server settings: Ciclo's, with the bench's URL conf (bench/_load_urls.py).

bench/load.py starts `ciclo serve` with DJANGO_SETTINGS_MODULE=_load_site (this module and
_load_urls on the Python path): Ciclo's URLs and, beside them, a bare view. A deployment's
settings are ciclo.settings, which know nothing of it: the bare view exists only under the bench.
"""

from __future__ import annotations

from ciclo.settings import *  # noqa: F403

ROOT_URLCONF = "_load_urls"
