"""Typer's and click's own words (help panels, usage lines, usage errors) in the run's language (issue 16).

Typer prints some words itself: "Usage:", the panel titles, "[default: ...]", the help option's help, ``<str>``
next to an option, and click's usage errors ("Missing argument 'month'.", "No such option: --bogus"). A Swedish
run must say none of them in English, so the words come from the one catalogue (``app.cli.messages``).

Since Typer 0.26 click is vendored as the private ``typer._click``, which Typer asks applications not to import.
This module reaches it only through public names: the constants of ``typer.rich_utils``, the attributes click
documents on commands and parameters (``metavar``, ``help``, ``options_metavar``, ``subcommand_metavar``,
``context_class`` and ``Context.formatter_class``, through the public ``typer.Context``), and the exceptions through
``typer.TyperException`` (click's ``ClickException`` derives from it) and ``typer.BadParameter``, told apart by the
attributes click documents on them (``option_name``, ``possibilities``, ``param``, ``ctx``). Three messages carry no
attribute to tell them by ("Missing command.", "No such command ...", "Got unexpected extra argument(s) ...") and
are recognised by their text; an error this module does not know is said as "felaktig användning: <click's
text>" rather than lost. tests/cli/test_typer_words.py pins each case, so a Typer upgrade that moves a word fails
there.

Which language: the language must be known before click parses anything (``vpt --help`` and a mistyped option
are answered before the root callback has run), so it is read off the command line: the last valid ``--lang``
(a command's own ``--lang`` comes after ``vpt --lang`` and wins, as it does once parsed), else ``VPT_LANG``, else
Swedish. Help and usage errors of a run speak that language.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from difflib import get_close_matches
from typing import Any

import typer
from typer import rich_utils

from app.cli.messages import MESSAGES
from app.cli.wording import say
from app.kpi.glossary import LANGS, Lang

#: What Typer's type labels (``<int>``) are, as ``metavar.*`` and ``usage.value.*`` name them; others (choices such
#: as ``<sv|en>``) are shown as Typer shows them.
_KINDS = {"str": "text", "list[str]": "text", "int": "integer", "int range": "integer", "float": "number",
          "float range": "number", "path": "path", "list[Path]": "path"}
_NO_SUCH_COMMAND = re.compile(r"No such command (?P<q>['\"])(?P<name>.*?)(?P=q)")
_EXTRA_ARGUMENTS = re.compile(r"Got unexpected extra argument(?:\(s\)|s)? \((?P<args>.*)\)$", re.DOTALL)

_words_lang: Lang = "sv"


def language_of(args: Sequence[str], setting: str | None) -> Lang:
    """The run's language before click parses ``args``: the last valid ``--lang``, else ``setting``, else sv."""
    chosen: str | None = None
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and index + 1 < len(args):
            value: str | None = args[index + 1]
        else:
            value = arg.partition("=")[2] if arg.startswith("--lang=") else None
        if value in LANGS:
            chosen = value
    return "en" if (chosen or setting) == "en" else "sv"


def _template(key: str) -> str:
    """A catalogue entry as Typer formats it itself (``[default: {}]``), in the language of the run's words."""
    return MESSAGES[key][_words_lang]


class _WordedFormatter(typer.Context.formatter_class):  # type: ignore[misc,valid-type]  # click's HelpFormatter
    """Click's help formatter with the usage line's prefix in the run's language ("Användning: vpt ...")."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, f"{_template('usage.prefix')}: " if prefix is None else prefix)


class WordedContext(typer.Context):
    """The context every ``vpt`` command gets: its formatter words the usage line."""

    formatter_class = _WordedFormatter


def _commands(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _commands(sub)


def value_kind(param: Any, ctx: Any) -> str | None:
    """``integer``, ``number``, ``path``, ``text``, or None (a flag, a choice): what an option takes."""
    if getattr(param, "is_flag", False):
        return None
    label = str(param.display_type(ctx)).removeprefix("<").removesuffix(">")
    return _KINDS.get(label)


def localise(root: Any, lang: Lang) -> None:
    """Give the command tree under ``root`` (built anew for every run) and Typer's help panels ``lang``'s words."""
    global _words_lang
    _words_lang = lang
    rich_utils.ARGUMENTS_PANEL_TITLE = _template("help.arguments")
    rich_utils.OPTIONS_PANEL_TITLE = _template("help.options")
    rich_utils.COMMANDS_PANEL_TITLE = _template("help.commands")
    rich_utils.DEFAULT_STRING = _template("help.default")
    rich_utils.ENVVAR_STRING = _template("help.env_var")
    rich_utils.REQUIRED_LONG_STRING = _template("help.required")
    rich_utils.DEPRECATED_STRING = _template("help.deprecated")
    rich_utils.ABORTED_TEXT = _template("usage.aborted")
    for command in _commands(root):
        command.context_class = WordedContext
        if command.options_metavar:
            command.options_metavar = f"[{_template('usage.options')}]"
        if hasattr(command, "subcommand_metavar"):
            command.subcommand_metavar = _template("usage.subcommand")
        ctx = WordedContext(command)
        for param in command.get_params(ctx):  # with the help option, which click makes here and keeps
            _localise_param(param, ctx)


def _localise_param(param: Any, ctx: Any) -> None:
    if param.param_type_name == "argument":
        key = f"arg.{param.name}"
        param.metavar = _template(key) if key in MESSAGES else str(param.name).upper()
        return
    if param.name in ("help", "install_completion", "show_completion"):
        param.help = _template(f"help.{param.name}")
    if getattr(param, "is_flag", False):
        param.metavar = ""  # a flag takes no value: no "<bool>" next to it
        return
    kind = value_kind(param, ctx)
    if kind is not None:
        param.metavar = _template(f"metavar.{kind}")


def param_label(exc: Any) -> str:
    """The parameter a usage error is about as help names it: ``--limit``, or an argument's ``MÅNAD``."""
    param = getattr(exc, "param", None)
    if param is not None:
        if param.param_type_name == "argument":
            return str(param.metavar or param.name).upper()
        return str(max(param.opts, key=len))
    hint = getattr(exc, "param_hint", None)
    return hint if isinstance(hint, str) else " / ".join(hint or ())


def is_help_shown(exc: Exception) -> bool:
    """A group called without a command (``vpt keys``): Typer has printed its help; nothing more is said."""
    return type(exc).__name__ == "NoArgsIsHelpError"  # as Typer itself tells it (it is not exported)


def usage_problem(exc: Exception) -> tuple[str | None, str]:
    """A usage error in the run's words: the parameter it is about (None: none) and the sentence. Text the user
    typed (an unknown option, a command) is left as it is, for ``app.cli.base.error_line``'s sanitiser."""
    message = str(getattr(exc, "message", ""))
    option = getattr(exc, "option_name", None)
    if isinstance(option, str):
        if hasattr(exc, "possibilities"):  # click's NoSuchOption
            possible = sorted(getattr(exc, "possibilities", None) or ())
            text = say("usage.no_such_option", name=option)
            return None, text + (say("usage.possible", options=", ".join(possible)) if possible else "")
        if "requires" in message:
            return option, say("usage.needs_value")
        return option, say("usage.takes_no_value" if "does not take" in message else "usage.bad_use")
    if isinstance(exc, typer.BadParameter):
        name = param_label(exc)
        param = getattr(exc, "param", None)
        if hasattr(exc, "param_type"):  # click's MissingParameter
            missing = "argument" in (getattr(exc, "param_type", None), getattr(param, "param_type_name", None))
            return None, say("usage.missing_argument" if missing else "usage.missing_option", name=name)
        kind = value_kind(param, exc.ctx) if param is not None and exc.ctx is not None else None
        return name, say(f"usage.value.{kind if kind in ('integer', 'number', 'path') else 'other'}")
    if message == "Missing command.":
        return None, say("usage.missing_command")
    if (found := _NO_SUCH_COMMAND.match(message)) is not None:
        return None, _no_such_command(found["name"], getattr(exc, "ctx", None))
    if (found := _EXTRA_ARGUMENTS.match(message)) is not None:
        return None, say("usage.extra", args=found["args"])
    text = exc.format_message() if hasattr(exc, "format_message") else message
    return None, say("usage.other", detail=text)


def _no_such_command(name: str, ctx: Any) -> str:
    known = list(getattr(getattr(ctx, "command", None), "commands", {}))
    close = get_close_matches(name, known)
    text = say("usage.no_such_command", name=f"'{name}'")
    return text + (say("usage.did_you_mean", names=", ".join(f"'{c}'" for c in close)) if close else "")


__all__ = ["WordedContext", "is_help_shown", "language_of", "localise", "usage_problem"]
