"""Entry point: python -m mock_authority."""

import sys

from .cli import main

sys.exit(main())
