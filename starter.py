"""The staff command line, ``transfers`` (the design card's entry point): the commands live
in `cli/`, and every one of them goes through the application layer."""

from cli.main import app, main

__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
