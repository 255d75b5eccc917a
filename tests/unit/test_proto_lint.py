"""The gRPC contract passes the proto lint (proto/lint.py): comments on every element, naming."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parents[2]


def _lint_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("proto_lint", ROOT / "proto" / "lint.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_proto_file_passes_the_lint() -> None:
    lint = _lint_module()
    files = sorted((ROOT / "proto" / "ghtrader" / "v1").glob("*.proto"))
    assert len(files) >= 8
    assert lint.lint(files) == []


def test_the_lint_finds_what_it_checks(tmp_path: Path) -> None:
    """A file breaking each rule gets one problem per break (the lint can fail)."""
    lint = _lint_module()
    fd = descriptor_pb2.FileDescriptorProto(name="bad.proto", package="other")
    m = fd.message_type.add(name="bad_message")
    m.field.add(name="BadField", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64)
    e = fd.enum_type.add(name="Side")
    e.value.add(name="BUY", number=0)
    svc = fd.service.add(name="Things")
    svc.method.add(name="get_thing", input_type=".other.bad_message", output_type=".other.bad_message")
    problems = lint.lint_file(fd)
    text = "\n".join(problems)
    assert "package 'other'" in text
    assert "message bad_message is not PascalCase" in text and "message bad_message has no comment" in text
    assert "field bad_message.BadField is not lower_snake_case" in text
    assert "field bad_message.BadField has no comment" in text
    assert "enum value Side.BUY is not UPPER_SNAKE_CASE prefixed SIDE_" in text
    assert "the zero value of Side is BUY, not SIDE_UNSPECIFIED" in text
    assert "rpc Things.get_thing is not PascalCase" in text and "not a ...Request message" in text
    assert "service Things has no comment" in text
