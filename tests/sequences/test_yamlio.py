import os
import time

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from spin_echo.sequences.errors import InputError, ProtocolError
from spin_echo.sequences.yamlio import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_NODES,
    load_yaml,
    read_document,
)

DOC = """\
name: hahn
sequence:
  - pulse: {angle: pi/2, duration: 50 ns}
  - delay: -5 ns
nested:
  inner:
    value: 3
"""


def test_nodes_carry_file_line_and_key_path():
    root = load_yaml("hahn.yaml", text=DOC)
    delay = root["sequence"].as_list().items[1].as_map()["delay"]
    assert (delay.file, delay.line, delay.path) == ("hahn.yaml", 4, "sequence[1].delay")
    with pytest.raises(InputError) as info:
        delay.quantity("time", nonnegative=True)
    assert (
        str(info.value) == "hahn.yaml:4: sequence[1].delay = '-5 ns': must be a non-negative time"
    )
    inner = root["nested"].as_map()["inner"].as_map()
    assert inner["value"].integer(minimum=1) == 3
    assert inner["value"].path == "nested.inner.value"


def test_missing_and_unknown_keys_are_located():
    root = load_yaml("h.yaml", text=DOC)
    with pytest.raises(InputError, match=r"h.yaml:1: shots: missing required key 'shots'"):
        root["shots"]
    with pytest.raises(InputError, match=r"h.yaml:5: nested: unknown key 'nested'"):
        root.check_keys(["name", "sequence"])


def test_file_is_read_from_disk(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(DOC, encoding="utf-8")
    assert load_yaml(path).plain()["name"] == "hahn"
    with pytest.raises(InputError, match="cannot read file"):
        load_yaml(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x [1, 2]\nb: *x\n", "anchors and aliases are not allowed"),
        ('a: &a ["lol","lol"]\nb: &b [*a,*a]\nc: [*b,*b]\n', "anchors and aliases"),
        ("a: 1\na: 2\n", "duplicate key"),
        ("1: a\n", "reads the key '1' as the number 1"),
        ('a: !!python/object/apply:os.system ["ls"]\n', "YAML tags such as"),
        ('a: !!python/name:os.system ""\n', "YAML tags such as"),
        ("a: !custom 1\n", "YAML tags such as"),
        ("a: !!binary aGk=\n", "YAML tags such as"),
        ("a: !!int x\n", "cannot read value"),
        ("a: !!bool x\n", "cannot read value"),
        ("a: 1\n---\nb: 2\n", "YAML syntax error"),
        ("a: [1, 2\n", "YAML syntax error"),
        ("- 1\n- 2\n", "must be a mapping"),
        ("", "document is empty"),
        ("a: [" + ",".join(["1"] * (MAX_NODES + 1)) + "]\n", "more than"),
        ('a: "' + "x" * (MAX_DOCUMENT_BYTES + 1) + '"\n', "larger than"),
    ],
    ids=[
        "alias",
        "billion-laughs",
        "duplicate",
        "non-string-key",
        "python-object",
        "python-name",
        "custom-tag",
        "binary",
        "bad-int",
        "bad-bool",
        "two-documents",
        "syntax",
        "not-a-mapping",
        "empty",
        "too-many-nodes",
        "too-large",
    ],
)
def test_unsafe_or_malformed_documents_are_refused(text, message):
    with pytest.raises(ProtocolError) as info:
        load_yaml("bad.yaml", text=text, error_class=ProtocolError)
    assert message in str(info.value)
    assert str(info.value).startswith("bad.yaml")
    assert "\n" not in str(info.value)


def test_oversized_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: 1\n" + b"#" * MAX_DOCUMENT_BYTES)
    with pytest.raises(InputError, match=f"larger than {MAX_DOCUMENT_BYTES} bytes"):
        load_yaml(path)


def test_dates_are_read_as_strings():
    assert load_yaml("d.yaml", text="a: 2020-01-01\n").plain() == {"a": "2020-01-01"}


keys = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)
scalars = st.one_of(
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(max_size=20),
)
documents = st.dictionaries(
    keys,
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=20,
    ),
    min_size=1,
    max_size=6,
)


@given(documents)
def test_plain_values_round_trip_through_safe_dump(document):
    text = yaml.safe_dump(document, sort_keys=False)
    assert load_yaml("r.yaml", text=text).plain() == document


@pytest.mark.timeout(20)
@pytest.mark.parametrize("special", ["fifo", "dev-zero", "folder"])
def test_read_document_refuses_what_is_not_a_regular_file_without_blocking(tmp_path, special):
    path = tmp_path / "x.yaml"
    if special == "fifo":
        os.mkfifo(path)
    elif special == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    start = time.monotonic()
    with pytest.raises(ProtocolError, match="not a regular file") as info:
        read_document(path, error_class=ProtocolError)
    assert time.monotonic() - start < 1.0
    assert str(info.value).startswith(f"{path}: is ")


def test_read_document_reads_a_regular_file_up_to_the_limit(tmp_path):
    path = tmp_path / "x.yaml"
    text = "a: 1\n" + "#" * (MAX_DOCUMENT_BYTES - 6) + "\n"
    path.write_text(text)
    assert read_document(path) == text
    path.write_text(text + "#")
    with pytest.raises(InputError, match="larger than"):
        read_document(path)


@pytest.mark.parametrize("style", ["flow", "block"])
def test_nesting_is_accepted_to_max_depth_and_refused_beyond(style):
    def document(depth):
        if style == "flow":
            return "a: " + "[" * (depth - 1) + "1" + "]" * (depth - 1) + "\n"
        return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "v"

    assert load_yaml("d.yaml", text=document(MAX_DEPTH))
    with pytest.raises(InputError, match=f"deeper than {MAX_DEPTH} levels") as info:
        load_yaml("d.yaml", text=document(MAX_DEPTH + 1))
    line = 1 if style == "flow" else MAX_DEPTH + 1
    assert str(info.value).startswith(f"d.yaml:{line}: ")


def test_very_deep_nesting_is_refused_quickly():
    start = time.monotonic()
    with pytest.raises(InputError, match="deeper than"):
        load_yaml("d.yaml", text="a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert time.monotonic() - start < 5.0


@pytest.mark.parametrize(
    ("key", "read_as"),
    [
        ("off", "the boolean False"),
        ("on", "the boolean True"),
        ("yes", "the boolean True"),
        ("no", "the boolean False"),
        ("True", "the boolean True"),
        ("~", "null"),
        ("null", "null"),
        ("3", "the number 3"),
    ],
)
def test_keys_yaml_reads_as_non_strings_say_how_to_quote_them(key, read_as):
    with pytest.raises(ProtocolError) as info:
        load_yaml(
            "p.yaml", text=f"parameters:\n  tau: 1 us\n  {key}: 2 us\n", error_class=ProtocolError
        )
    message = str(info.value)
    assert message.startswith(f"p.yaml:3: parameters.{key}: ")
    assert f"reads the key {key!r} as {read_as}" in message
    assert f"quote it ('{key}': ...)" in message
    quoted = load_yaml("p.yaml", text=f"parameters:\n  '{key}': 2 us\n")
    assert list(quoted["parameters"].as_map().keys()) == [key]
