"""Terraform type constraints (as python-hcl2 prints them) and whether a synthesized value fits one.

Terraform converts primitives freely (``"5"`` fits ``number``, ``true`` fits ``string``) but never a collection into
a primitive or a map into a list; this follows the same rules, so a failure here is a failure at plan time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PRIMITIVES = ("string", "number", "bool", "any")
COLLECTIONS = ("list", "set", "map")
_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_-]*|-?\d+(?:\.\d+)?|.)')


class TypeSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class TfType:
    kind: str
    element: TfType | None = None
    # object: (attribute, type, optional); tuple: positional element types
    attributes: tuple[tuple[str, TfType, bool], ...] = ()
    elements: tuple[TfType, ...] = ()

    def __str__(self) -> str:
        if self.kind in PRIMITIVES:
            return self.kind
        if self.kind in COLLECTIONS:
            return f"{self.kind}({self.element})"
        if self.kind == "tuple":
            return f"tuple([{', '.join(map(str, self.elements))}])"
        inner = ", ".join(
            f"{name} = {'optional(' if opt else ''}{t}{')' if opt else ''}" for name, t, opt in self.attributes
        )
        return f"object({{{inner}}})"


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = [m.group(1) for m in _TOKEN.finditer(text) if m.group(1).strip()]
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise TypeSyntaxError(f"type {self.text!r}: expected {expected or 'more'} at token {self.pos}, got {token}")
        self.pos += 1
        return token

    def skip_expression(self) -> None:
        """An optional() default: any balanced expression up to the closing parenthesis."""
        depth = 0
        while (token := self.peek()) is not None:
            if token in "([{":
                depth += 1
            elif token in ")]}":
                if depth == 0:
                    return
                depth -= 1
            self.pos += 1

    def parse(self) -> TfType:
        name = self.take()
        if name in PRIMITIVES:
            return TfType(name)
        self.take("(")
        if name in COLLECTIONS:
            result = TfType(name, element=self.parse())
        elif name == "tuple":
            self.take("[")
            elements = []
            while self.peek() != "]":
                elements.append(self.parse())
                if self.peek() == ",":
                    self.take(",")
            self.take("]")
            result = TfType("tuple", elements=tuple(elements))
        elif name == "object":
            self.take("{")
            attributes = []
            while self.peek() != "}":
                attribute = self.take().strip('"')
                self.take("=")
                optional = self.peek() == "optional"
                if optional:
                    self.take("optional")
                    self.take("(")
                    attribute_type = self.parse()
                    if self.peek() == ",":
                        self.take(",")
                        self.skip_expression()
                    self.take(")")
                else:
                    attribute_type = self.parse()
                attributes.append((attribute, attribute_type, optional))
                if self.peek() == ",":
                    self.take(",")
            self.take("}")
            result = TfType("object", attributes=tuple(attributes))
        else:
            raise TypeSyntaxError(f"type {self.text!r}: unknown type constructor {name!r}")
        self.take(")")
        return result


def parse_type(text: str) -> TfType:
    parser = _Parser(text)
    result = parser.parse()
    if parser.peek() is not None:
        raise TypeSyntaxError(f"type {text!r}: unexpected {parser.peek()!r} after the type")
    return result


def is_expression(value: Any) -> bool:
    """A whole-value interpolation (``${...}``): its type is that of the expression, not of a string."""
    return isinstance(value, str) and value.startswith("${") and value.endswith("}") and value.count("${") == 1


def _shape(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map/object"
    return type(value).__name__


def mismatches(value: Any, expected: TfType, path: str = "") -> list[str]:
    """Why ``value`` (JSON from the synthesized configuration) cannot convert to ``expected``; empty when it can.

    Whole-value expressions are accepted here (the caller resolves the ones it can before calling).
    """
    where = path or "value"
    if value is None or expected.kind == "any" or is_expression(value):
        return []
    kind = expected.kind
    if kind == "string":
        ok = isinstance(value, (str, int, float, bool))
    elif kind == "number":
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
            isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value) is not None
        )
    elif kind == "bool":
        ok = isinstance(value, bool) or value in ("true", "false")
    elif kind in ("list", "set"):
        if not isinstance(value, list):
            return [f"{where}: expected {expected}, got a {_shape(value)}"]
        assert expected.element is not None
        return [m for i, item in enumerate(value) for m in mismatches(item, expected.element, f"{where}[{i}]")]
    elif kind == "tuple":
        if not isinstance(value, list) or len(value) != len(expected.elements):
            return [f"{where}: expected {expected}, got {_shape(value)} {value!r}"]
        return [
            m
            for i, (item, t) in enumerate(zip(value, expected.elements, strict=True))
            for m in mismatches(item, t, f"{where}[{i}]")
        ]
    elif kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected {expected}, got a {_shape(value)}"]
        assert expected.element is not None
        return [m for key, item in value.items() for m in mismatches(item, expected.element, f"{where}[{key!r}]")]
    elif kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: expected {expected}, got a {_shape(value)}"]
        declared = {name: (t, optional) for name, t, optional in expected.attributes}
        problems = [f"{where}: attribute {name!r} is not in {expected}" for name in value if name not in declared]
        problems += [
            f"{where}: required attribute {name!r} of {expected} is missing"
            for name, (_, optional) in declared.items()
            if not optional and name not in value
        ]
        problems += [
            m
            for name, item in value.items()
            if name in declared
            for m in mismatches(item, declared[name][0], f"{where}.{name}")
        ]
        return problems
    else:
        return [f"{where}: unsupported type {expected}"]
    return [] if ok else [f"{where}: expected {expected}, got {_shape(value)} {value!r}"]
