"""``python -m hooks.lessons check [PATH…]`` and ``python -m hooks.lessons new …``: see cli.py."""

from hooks.lessons.cli import main

raise SystemExit(main())
