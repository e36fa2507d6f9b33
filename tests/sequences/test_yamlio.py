import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from spin_echo.sequences.errors import InputError, ProtocolError
from spin_echo.sequences.yamlio import MAX_DOCUMENT_BYTES, MAX_NODES, load_yaml

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
        ("1: a\n", "keys must be plain strings"),
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
    with pytest.raises(InputError, match="at most"):
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
