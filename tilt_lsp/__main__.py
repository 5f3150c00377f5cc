"""`python -m tilt_lsp` runs the same command as the `tilt-lsp` script."""

from tilt_lsp.cli import main

raise SystemExit(main())
