"""The gateway_token lookup reads every store option of the table, documented by the fragments and their
PLUGINS parts (vars, ini, env)."""
import yaml

from ansible_collections.llmops.claude_gateway.plugins.lookup import gateway_token as lookup

from ..module_utils._backends.test_options import DOCUMENTED, FRAGMENT_NAMES


def test_the_lookup_documents_every_store_option_and_where_to_set_it():
    doc = yaml.safe_load(lookup.DOCUMENTATION)
    assert doc["extends_documentation_fragment"] == FRAGMENT_NAMES + [n + ".plugins" for n in FRAGMENT_NAMES]
    assert list(doc["options"]) == ["_terms"]


def test_the_lookup_reads_every_store_option(monkeypatch):
    asked = []
    monkeypatch.setattr(lookup.LookupModule, "set_options", lambda self, **kw: None)
    monkeypatch.setattr(lookup.LookupModule, "get_option", lambda self, key: asked.append(key))
    monkeypatch.setattr(lookup, "get_backend", lambda opts: type("NoStore", (), {"warnings": [], "read": None})())
    lookup.LookupModule().run([])
    assert asked == [o.name for o in DOCUMENTED]


def test_values_are_text_that_no_ansible_core_turns_into_a_dict(monkeypatch):
    """ansible-core < 2.19 turns a template result that looks like a dict into one unless it is marked as
    text (tests/integration/test_interop_vault.py runs both); 2.19 keeps strings as they are."""
    read = type("Read", (), {"value": '{"a": "1", "b": "2"}'})
    store = type("Store", (), {"warnings": [], "read": lambda self, ref: read})()
    monkeypatch.setattr(lookup.LookupModule, "set_options", lambda self, **kw: None)
    monkeypatch.setattr(lookup.LookupModule, "get_option", lambda self, key: "vault" if key == "backend" else None)
    monkeypatch.setattr(lookup, "get_backend", lambda opts: store)
    values = lookup.LookupModule().run(["x"])
    assert values == ['{"a": "1", "b": "2"}'] and isinstance(values[0], str)
    marked = type("NativeJinjaText", (str,), {})
    monkeypatch.setattr(lookup, "NativeJinjaText", marked)
    assert type(lookup.LookupModule().run(["x"])[0]) is marked  # pylint: disable=unidiomatic-typecheck
