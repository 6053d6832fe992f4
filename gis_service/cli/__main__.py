"""``python -m gis_service.cli``: the same as the ``gis-service`` command."""

from gis_service.cli import main

main()
