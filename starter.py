"""The staff command line, ``transfers`` (the design card's entry point): the commands live
in `cli/`, and every one of them goes through the application layer."""

import gc

# The commands' imports make hundreds of thousands of objects that live as long as the
# process, and the collector went through them again and again while they loaded: a tenth of
# a command's start-up (issue 17). Loaded without it, then set aside for good (``freeze``):
# collecting them once at the end would cost as much again.
gc.disable()
try:
    from cli.main import app, main
finally:
    gc.freeze()
    gc.enable()

__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
