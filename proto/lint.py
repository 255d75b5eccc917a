"""Lint of the gRPC contract (proto/ghtrader/v1/*.proto), run by ``make test`` (tests/unit/test_proto_lint.py).

Compiles the files with their source info (grpc_tools' protoc) and checks:

- every service, rpc, message, field, enum and enum value carries a comment (leading or trailing);
- names: services, rpcs, messages and enums PascalCase; fields lower_snake_case; enum values
  UPPER_SNAKE_CASE prefixed with the enum's name in UPPER_SNAKE_CASE, the zero value ``*_UNSPECIFIED``;
- an rpc's request message is named ``...Request``; a unary rpc answers a message, a streaming one
  a stream; a file's package is ``ghtrader.v1``.

Run: ``.venv/bin/python proto/lint.py [files...]``; exits 1 and prints one line per problem.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent
PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")

# FileDescriptorProto field numbers used in source-info paths
_MESSAGE, _ENUM, _SERVICE = 4, 5, 6
_FIELD, _NESTED, _NESTED_ENUM = 2, 3, 4
_VALUE, _METHOD = 2, 2


def upper_snake(name: str) -> str:
    """``OrderSide`` -> ``ORDER_SIDE``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


def compile_files(files: Sequence[Path]) -> descriptor_pb2.FileDescriptorSet:
    """The files' descriptors with source info (comments), through grpc_tools' bundled protoc."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.pb"
        rel = [str(f.resolve().relative_to(ROOT)) for f in files]
        rc = protoc.main(["protoc", f"-I{ROOT}", "--include_source_info", f"--descriptor_set_out={out}", *rel])
        if rc != 0:
            raise SystemExit(f"protoc failed ({rc}) on {rel}")
        fds = descriptor_pb2.FileDescriptorSet()
        fds.ParseFromString(out.read_bytes())
        return fds


def _comments(fd: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    out: dict[tuple[int, ...], str] = {}
    for loc in fd.source_code_info.location:
        text = (loc.leading_comments + loc.trailing_comments).strip()
        if text:
            out[tuple(loc.path)] = text
    return out


def lint_file(fd: descriptor_pb2.FileDescriptorProto) -> list[str]:
    """Problems of one compiled file, ``file: what`` each."""
    notes = _comments(fd)
    problems: list[str] = []

    def need(path: tuple[int, ...], what: str) -> None:
        if path not in notes:
            problems.append(f"{fd.name}: {what} has no comment")

    if fd.package != "ghtrader.v1":
        problems.append(f"{fd.name}: package {fd.package!r} is not 'ghtrader.v1'")

    def enum(e: descriptor_pb2.EnumDescriptorProto, path: tuple[int, ...], scope: str) -> None:
        name = f"{scope}{e.name}"
        need(path, f"enum {name}")
        if not PASCAL.match(e.name):
            problems.append(f"{fd.name}: enum {name} is not PascalCase")
        prefix = upper_snake(e.name) + "_"
        for i, v in enumerate(e.value):
            need((*path, _VALUE, i), f"enum value {name}.{v.name}")
            if not UPPER_SNAKE.match(v.name) or not v.name.startswith(prefix):
                problems.append(f"{fd.name}: enum value {name}.{v.name} is not UPPER_SNAKE_CASE prefixed {prefix}")
            if v.number == 0 and not v.name.endswith("_UNSPECIFIED"):
                problems.append(f"{fd.name}: the zero value of {name} is {v.name}, not {prefix}UNSPECIFIED")

    def message(m: descriptor_pb2.DescriptorProto, path: tuple[int, ...], scope: str) -> None:
        name = f"{scope}{m.name}"
        if m.options.map_entry:
            return  # synthesised for map<,> fields
        need(path, f"message {name}")
        if not PASCAL.match(m.name):
            problems.append(f"{fd.name}: message {name} is not PascalCase")
        for i, f in enumerate(m.field):
            need((*path, _FIELD, i), f"field {name}.{f.name}")
            if not SNAKE.match(f.name):
                problems.append(f"{fd.name}: field {name}.{f.name} is not lower_snake_case")
        for i, nested in enumerate(m.nested_type):
            message(nested, (*path, _NESTED, i), f"{name}.")
        for i, e in enumerate(m.enum_type):
            enum(e, (*path, _NESTED_ENUM, i), f"{name}.")

    for i, m in enumerate(fd.message_type):
        message(m, (_MESSAGE, i), "")
    for i, e in enumerate(fd.enum_type):
        enum(e, (_ENUM, i), "")
    for i, s in enumerate(fd.service):
        need((_SERVICE, i), f"service {s.name}")
        if not PASCAL.match(s.name):
            problems.append(f"{fd.name}: service {s.name} is not PascalCase")
        for j, rpc in enumerate(s.method):
            where = f"rpc {s.name}.{rpc.name}"
            need((_SERVICE, i, _METHOD, j), where)
            if not PASCAL.match(rpc.name):
                problems.append(f"{fd.name}: {where} is not PascalCase")
            if not rpc.input_type.rsplit(".", 1)[-1].endswith("Request"):
                problems.append(f"{fd.name}: {where} takes {rpc.input_type}, not a ...Request message")
            if rpc.client_streaming:
                problems.append(f"{fd.name}: {where} streams from the client (not used in this API)")
    return problems


def lint(files: Iterable[Path]) -> list[str]:
    """Problems of ``files`` (all of proto/ghtrader/v1 by default)."""
    paths = sorted(files)
    own = {str(p.resolve().relative_to(ROOT)) for p in paths}
    fds = compile_files(paths)
    return [p for fd in fds.file if fd.name in own for p in lint_file(fd)]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    files = [Path(a) for a in args] or sorted((ROOT / "ghtrader" / "v1").glob("*.proto"))
    problems = lint(files)
    for p in problems:
        print(p)
    print(f"{len(files)} proto files, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
