"""``python -m ringfence.cli``: the ``ringfence`` command."""

import sys

from ringfence.cli import main

sys.exit(main())
