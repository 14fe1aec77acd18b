"""``python -m edgequest`` is the ``edgequest`` command."""

from edgequest.cli import main

raise SystemExit(main())
