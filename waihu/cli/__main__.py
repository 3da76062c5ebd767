"""``python -m waihu.cli``."""

from waihu.cli.main import main

main()
