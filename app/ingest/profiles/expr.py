"""``expr``: arithmetic over a row's fields and inputs, read with ``ast`` and evaluated by walking the tree.

Never ``eval``: only numbers, names, ``+ - * /``, unary signs and parentheses are accepted, checked when the
profile is loaded. A timestamp plus or minus seconds is a timestamp; a timestamp minus a timestamp is seconds.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from app.ingest.profiles.values import ConversionError, Stamp, Value, as_number
from app.kpi.localtime import STOCKHOLM

MAX_LENGTH = 500
_BINARY: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_UNARY: dict[type[ast.unaryop], str] = {ast.UAdd: "+", ast.USub: "-"}


class ExprSyntaxError(ValueError):
    """An expression a profile may not hold; the text says why."""


@dataclass(frozen=True, slots=True)
class Expr:
    text: str
    tree: ast.expr
    names: frozenset[str]


def compile_expr(text: str) -> Expr:
    """The checked expression, or ``ExprSyntaxError``."""
    if not isinstance(text, str) or not text.strip():
        raise ExprSyntaxError("an expression is a non-empty string")
    if len(text) > MAX_LENGTH:
        raise ExprSyntaxError(f"longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ExprSyntaxError(f"not an expression: {getattr(exc, 'msg', type(exc).__name__)}") from None
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expression | ast.Load) or type(node) in _BINARY or type(node) in _UNARY:
            continue
        if isinstance(node, ast.BinOp | ast.UnaryOp):
            if type(node.op) in _BINARY or type(node.op) in _UNARY:
                continue
            raise ExprSyntaxError(f"the operator {type(node.op).__name__.lower()} is not allowed: only + - * /")
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            if not _finite(node.value):
                raise ExprSyntaxError("a number too large to compute with")
            continue
        if isinstance(node, ast.Name):
            names.add(node.id)
            continue
        raise ExprSyntaxError(f"{type(node).__name__.lower()} is not allowed: only numbers, names, + - * / and "
                              "parentheses")
    return Expr(text, tree.body, frozenset(names))


def _finite(number: float) -> bool:
    try:
        return math.isfinite(float(number))
    except OverflowError:
        return False


def evaluate(expr: Expr, lookup: Callable[[str], Value | None], decimal_comma: bool) -> Value | None:
    """The value, or None when a name in it has no value; ``ConversionError`` when it cannot be computed."""
    missing = False

    def walk(node: ast.expr) -> Value | None:
        nonlocal missing
        if isinstance(node, ast.Constant):
            assert isinstance(node.value, int | float)
            return float(node.value)
        if isinstance(node, ast.Name):
            value = lookup(node.id)
            if value is None:
                missing = True
                return None
            return value if isinstance(value, Stamp) else as_number(value, decimal_comma)
        if isinstance(node, ast.UnaryOp):
            operand = walk(node.operand)
            if operand is None:
                return None
            if isinstance(operand, Stamp):
                raise ConversionError("a sign before a timestamp")
            number = as_number(operand, decimal_comma)
            return -number if isinstance(node.op, ast.USub) else number
        assert isinstance(node, ast.BinOp)
        left, right = walk(node.left), walk(node.right)
        if left is None or right is None:
            return None
        return _binary(_BINARY[type(node.op)], left, right, decimal_comma)

    result = walk(expr.tree)
    return None if missing else result


def _binary(op: str, left: Value, right: Value, decimal_comma: bool) -> Value:
    if isinstance(left, Stamp) or isinstance(right, Stamp):
        return _with_time(op, left, right, decimal_comma)
    a, b = as_number(left, decimal_comma), as_number(right, decimal_comma)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise ConversionError("division by zero")
    return a / b


def _with_time(op: str, left: Value, right: Value, decimal_comma: bool) -> Value:
    """Timestamps are computed on UTC instants; the result is Stockholm wall time again when an operand was, so the
    canonical parser resolves it as it resolves any local time."""
    if isinstance(left, Stamp) and isinstance(right, Stamp):
        if op != "-":
            raise ConversionError(f"a timestamp {op} a timestamp (only their difference is defined)")
        start = right.instant()
        return (left.instant(not_before=start) - start).total_seconds()
    if op not in "+-" or (op == "-" and isinstance(right, Stamp)):
        raise ConversionError(f"{op} with a timestamp (only a timestamp plus or minus seconds is defined)")
    stamp, seconds = (left, right) if isinstance(left, Stamp) else (right, left)
    assert isinstance(stamp, Stamp)
    delta = as_number(seconds, decimal_comma)
    try:
        moment = stamp.instant() + timedelta(seconds=delta if op == "+" else -delta)
    except OverflowError:
        raise ConversionError("the timestamp is out of range") from None
    if stamp.local:
        return Stamp(moment.astimezone(STOCKHOLM).replace(tzinfo=None))
    return Stamp(moment)
