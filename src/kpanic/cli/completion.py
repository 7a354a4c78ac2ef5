"""``kpanic completion bash|zsh|fish``: the shell code that completes kpanic's commands and
options (argcomplete). Install it once:

- bash: ``kpanic completion bash > ~/.local/share/bash-completion/completions/kpanic``
- zsh:  ``kpanic completion zsh > ~/.zfunc/_kpanic`` (with ``fpath+=~/.zfunc`` before
  ``compinit`` in ``~/.zshrc``), or ``eval "$(kpanic completion zsh)"`` in ``~/.zshrc``
- fish: ``kpanic completion fish > ~/.config/fish/completions/kpanic.fish``
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

SHELLS = ("bash", "zsh", "fish")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "completion",
        help="print the shell completion code for bash, zsh or fish",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("shell", choices=SHELLS, help="the shell to complete for")
    p.set_defaults(handler=_completion)


def _completion(args: argparse.Namespace) -> int:
    from kpanic.errors import KpanicError

    try:
        import argcomplete
    except ImportError:
        raise KpanicError("shell completion needs the argcomplete package") from None
    code = argcomplete.shellcode(["kpanic"], shell=args.shell)
    if args.shell == "zsh" and not code.startswith("#compdef"):
        code = "#compdef kpanic\n" + code  # loadable from $fpath as _kpanic
    sys.stdout.write(code)
    return 0
