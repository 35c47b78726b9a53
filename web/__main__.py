"""`python -m web`: the console (what `transfers dev` starts beside the worker)."""

from web.serve import main

main()
