"""The inputs/outputs tables of every module README, generated from its Terraform files (python-hcl2).

Only the text between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->`` is ours; the rest of a README is
prose its authors write. Usage: ``python -m tools.module_docs [--check] [MODULE_DIR ...]`` — ``--check`` changes
nothing and exits 1 when a table is stale or a README lacks the markers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parent.parent
MODULES_DIR = ROOT / "tf_modules"
BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
# Quoted strings come back unquoted and unescaped, blocks as plain dicts: the shape of `terraform-docs json`.
_HCL_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


class ModuleDocsError(RuntimeError):
    """A module's README cannot be generated (no README, no markers, unparsable Terraform)."""


@dataclass(frozen=True)
class Variable:
    name: str
    type: str | None
    description: str | None
    has_default: bool
    default: Any = None

    @property
    def required(self) -> bool:
        return not self.has_default


@dataclass(frozen=True)
class Output:
    name: str
    description: str | None
    value: Any = None


@dataclass(frozen=True)
class ModuleInterface:
    directory: Path
    variables: tuple[Variable, ...]
    outputs: tuple[Output, ...]

    @property
    def name(self) -> str:
        """``vpc``, ``api/modules/account-settings``: how messages name the module."""
        return shown(self.directory, MODULES_DIR)

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)

    def output(self, name: str) -> Output | None:
        return next((o for o in self.outputs if o.name == name), None)


def shown(path: Path, base: Path = ROOT) -> str:
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def module_dirs(root: Path = MODULES_DIR) -> list[Path]:
    """Every module and submodule (``<module>/modules/<name>``) that ships Terraform files; examples are callers."""
    found = []
    for module in sorted(p for p in root.iterdir() if p.is_dir()):
        for candidate in (module, *sorted(p for p in module.glob("modules/*") if p.is_dir())):
            if list(candidate.glob("*.tf")):
                found.append(candidate)
    return found


def strip_interpolation(text: str) -> str:
    """``${map(string)}`` -> ``map(string)``: python-hcl2 wraps every non-literal expression."""
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def _blocks(parsed: dict[str, Any], kind: str) -> Iterable[tuple[str, dict[str, Any]]]:
    for entry in parsed.get(kind, []):
        yield from entry.items()


def read_interface(directory: Path) -> ModuleInterface:
    """Variables and outputs in declaration order (files by name, as Terraform reads them)."""
    variables: list[Variable] = []
    outputs: list[Output] = []
    for path in sorted(directory.glob("*.tf")):
        try:
            with path.open() as handle:
                parsed = hcl2.load(handle, serialization_options=_HCL_OPTIONS)
        except Exception as exc:  # python-hcl2 raises lark errors of several kinds
            raise ModuleDocsError(f"{shown(path)}: cannot parse: {exc}") from exc
        for name, body in _blocks(parsed, "variable"):
            type_text = body.get("type")
            variables.append(
                Variable(
                    name=name,
                    type=strip_interpolation(type_text) if isinstance(type_text, str) else None,
                    description=body.get("description"),
                    has_default="default" in body,
                    default=body.get("default"),
                )
            )
        for name, body in _blocks(parsed, "output"):
            outputs.append(Output(name=name, description=body.get("description"), value=body.get("value")))
    return ModuleInterface(directory, tuple(variables), tuple(outputs))


def _cell(text: str) -> str:
    # A table row is one line, and a pipe would end the cell early.
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{_cell(text)}`"


def render_default(value: Any) -> str:
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        return strip_interpolation(value)  # an expression such as a reference to a local: show it as written
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


def render_tables(interface: ModuleInterface) -> str:
    lines = ["## Inputs", ""]
    if interface.variables:
        lines += [
            "| Name | Description | Type | Default | Required |",
            "|------|-------------|------|---------|:--------:|",
        ]
        for var in interface.variables:
            default = "n/a" if var.required else _code(render_default(var.default))
            lines.append(
                f"| {_code(var.name)} | {_cell(var.description or '')} | {_code(var.type or 'any')} | {default} "
                f"| {'yes' if var.required else 'no'} |"
            )
    else:
        lines.append("No inputs.")
    lines += ["", "## Outputs", ""]
    if interface.outputs:
        lines += ["| Name | Description |", "|------|-------------|"]
        lines += [f"| {_code(out.name)} | {_cell(out.description or '')} |" for out in interface.outputs]
    else:
        lines.append("No outputs.")
    return "\n".join(lines)


def regenerate(readme_text: str, tables: str, readme: Path) -> str:
    """The README with the marked section replaced; everything outside the markers is kept byte for byte."""
    if readme_text.count(BEGIN) != 1 or readme_text.count(END) != 1:
        raise ModuleDocsError(f"{shown(readme)}: needs exactly one {BEGIN} and one {END} line")
    head, rest = readme_text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n\n{tables}\n\n{END}{tail}"


def stale_readmes(directories: Iterable[Path], write: bool) -> list[str]:
    """Problems found (stale tables are rewritten first when ``write``); empty when every README is current."""
    problems = []
    for directory in directories:
        readme = directory / "README.md"
        try:
            if not readme.is_file():
                raise ModuleDocsError(f"{shown(readme)}: missing (every module documents its interface)")
            text = readme.read_text()
            updated = regenerate(text, render_tables(read_interface(directory)), readme)
        except ModuleDocsError as exc:
            problems.append(str(exc))
            continue
        if updated != text:
            if write:
                readme.write_text(updated)
                print(f"module-docs: updated {shown(readme)}")
            else:
                problems.append(f"{shown(readme)}: inputs/outputs tables are stale; run `python -m tools.module_docs`")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a README is stale")
    parser.add_argument("modules", nargs="*", type=Path, help="module folders (default: every module in tf_modules/)")
    args = parser.parse_args(argv)
    directories = [p.resolve() for p in args.modules] or module_dirs()
    problems = stale_readmes(directories, write=not args.check)
    for problem in problems:
        print(f"module-docs: {problem}", file=sys.stderr)
    if not problems:
        print(f"module-docs: {len(directories)} README(s) up to date")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
