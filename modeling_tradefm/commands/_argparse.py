# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The argument parser of ``tradefm`` and its sub-commands.

``CommandParser`` is an ``argparse.ArgumentParser`` with three differences, so that every
sub-command behaves alike without code of its own:

* Help is plain text. Descriptions are the commands' module docstrings, written in RST for the
  API docs; their markup (double backticks, roles such as ``:func:`x```, ``*emphasis*``, the
  ``::`` of a literal block) is removed when help is printed. The text itself is unchanged.
* A sub-command's usage error is reported by the sub-command. argparse hands an option the
  sub-parser does not know back to the top-level parser, which then prints ``tradefm``'s usage;
  here the sub-parser (``SubcommandParser``, what ``add_subparsers`` creates) reports it with its
  own usage, and reports it first when it also caused another error (``--too lobster`` leaves the
  required ``--to`` missing: the message names ``--too``).
* Mistyped options and choices get a suggestion: ``unrecognized arguments: --jsno; did you mean
  --json?``, ``invalid choice: 'inspct' (choose from ...); did you mean 'inspect'?``. Exit status
  2, as argparse's.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import re
import sys

_ROLE = re.compile(r":[\w:.-]+:`(~?)([^`]+?)`")  # :func:`x`, :class:`~a.b.C`
_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)
_DEFAULT_ROLE = re.compile(r"(?<![`\w])`([^`\n]+)`(?![`\w])")
_EMPHASIS = re.compile(r"(?<![\w*])\*{1,2}(\w[\w .-]*?\w|\w)\*{1,2}(?![\w*])")
_LITERAL_BLOCK = re.compile(r"(\S)::$", re.MULTILINE)
_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")


def plain_text(text: str) -> str:
    """``text`` without RST inline markup (see the module docstring); everything else kept."""

    def role(m: re.Match) -> str:
        target = m[2].split("<")[0].strip() if "<" in m[2] else m[2]
        return target.rsplit(".", 1)[-1] if m[1] else target

    text = _ROLE.sub(role, text)
    text = _LITERAL.sub(r"\1", text)
    text = _DEFAULT_ROLE.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\1", text)
    return _LITERAL_BLOCK.sub(r"\1:", text)


class _PlainTextHelp:
    """Mixed into a help formatter: descriptions, epilogs and argument help as plain text."""

    def _format_text(self, text):
        return super()._format_text(plain_text(text))

    def _expand_help(self, action):
        return plain_text(super()._expand_help(action))


@functools.cache
def _plain_formatter(formatter_class: type) -> type:
    if issubclass(formatter_class, _PlainTextHelp):
        return formatter_class
    return type(f"Plain{formatter_class.__name__}", (_PlainTextHelp, formatter_class), {})


def _suggestion(word: str, candidates, quote: bool = False) -> str:
    match = difflib.get_close_matches(word, [str(c) for c in candidates], n=1, cutoff=0.6)
    if not match:
        return ""
    return f"; did you mean {match[0]!r}?" if quote else f"; did you mean {match[0]}?"


class CommandParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with plain-text help, sub-command usage errors and suggestions."""

    def __init__(self, *args, formatter_class=argparse.HelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=_plain_formatter(formatter_class), **kwargs)

    def add_subparsers(self, **kwargs):
        kwargs.setdefault("parser_class", SubcommandParser)
        return super().add_subparsers(**kwargs)

    def _check_value(self, action, value):
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError as exc:
            if action.choices is None or "did you mean" in str(exc):
                raise
            hint = _suggestion(str(value), action.choices, quote=True)
            if not hint:
                raise
            raise argparse.ArgumentError(action, exc.message + hint) from None


class SubcommandParser(CommandParser):
    """The parser of one sub-command: reports options it does not know itself."""

    def _option_strings(self) -> list[str]:
        return [s for action in self._actions for s in action.option_strings]

    def _unknown_options(self, args: list[str]) -> list[str]:
        """The arguments argparse will take for options (not negative numbers) that match none of ours."""
        known = self._option_strings()
        out = []
        for arg in args:
            if arg == "--":
                break
            if len(arg) < 2 or arg[0] not in self.prefix_chars or _NEGATIVE_NUMBER.match(arg) or " " in arg:
                continue
            name = arg.split("=", 1)[0]
            if name in known:
                continue
            if name.startswith("--") and self.allow_abbrev and any(k.startswith(name) for k in known):
                continue
            if not name.startswith("--") and name[:2] in known:  # -ofile, -qv
                continue
            out.append(name)
        return out

    def parse_known_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        self._unknown = self._unknown_options(args)
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras

    def error(self, message: str):
        unknown = getattr(self, "_unknown", [])
        if unknown:  # the root cause of whatever went wrong next
            hints = "".join(_suggestion(u, self._option_strings()) for u in unknown[:1])
            message = f"unrecognized arguments: {' '.join(unknown)}{hints}"
        super().error(message)


__all__ = ["CommandParser", "SubcommandParser", "plain_text"]
