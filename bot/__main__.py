"""`python -m bot` is the `microlearn` command."""

from bot.cli import main

raise SystemExit(main())
