"""The options table is the one list of store options: the doc fragments, the factory and the YAML of the
roles and playbooks must all say the same, so none can drift (the modules' argument_spec: tests/unit/plugins/
modules/test_gateway_token.py; the lookup: tests/unit/plugins/lookup/test_gateway_token_lookup.py)."""
import os

import pytest
import yaml

from ansible_collections.llmops.claude_gateway.plugins.doc_fragments import (
    backend,
    backend_aws,
    backend_gcp,
    backend_local,
    backend_vault,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import factory
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import BadConfiguration
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.options import (
    BY_NAME,
    COMMON,
    OPTIONS,
    argument_spec,
    plugin_settings,
    with_env_fallbacks,
)

FRAGMENTS = {COMMON: backend, "aws": backend_aws, "gcp": backend_gcp, "vault": backend_vault, "local": backend_local}
FRAGMENT_NAMES = ["llmops.claude_gateway." + m.__name__.rsplit(".", 1)[1] for m in FRAGMENTS.values()]
DOCUMENTED = [option for option in OPTIONS if option.name != "name"]  # each module documents its own 'name'


def fragment(of, part="DOCUMENTATION"):
    return yaml.safe_load(getattr(FRAGMENTS[of].ModuleDocFragment, part))


def description(doc):
    text = doc["description"]
    return " ".join(text) if isinstance(text, list) else text


@pytest.mark.parametrize("of", sorted(FRAGMENTS))
def test_each_fragment_holds_exactly_the_options_of_its_backend(of):
    assert list(fragment(of)["options"]) == [o.name for o in DOCUMENTED if o.backend == of]


@pytest.mark.parametrize("option", DOCUMENTED, ids=lambda o: o.name)
def test_fragment_text_equals_the_table(option):
    doc = fragment(option.backend)["options"][option.name]
    assert doc["type"] == option.type
    assert doc.get("default") == option.default
    assert doc.get("choices") == option.choices
    assert description(doc).startswith(option.doc)
    if option.backend != COMMON:
        assert option.doc.startswith("V(%s)" % option.backend)
    for var in option.env:
        assert "E(%s)" % var in description(doc)
    assert set(doc) <= {"description", "type", "default", "choices"}


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.name)
def test_plugins_part_sets_every_store_option_once_and_no_per_secret_option(option):
    plugins = fragment(option.backend, "PLUGINS")["options"]
    if option.settable:
        assert plugins[option.name] == plugin_settings(option.name)
    else:
        assert option.name not in plugins


def test_plugins_parts_name_only_documented_options():
    for of in FRAGMENTS:
        assert set(fragment(of, "PLUGINS")["options"]) <= set(fragment(of)["options"])


def test_secret_options_are_no_log_and_nothing_else_is():
    secrets = sorted(o.name for o in OPTIONS if o.no_log)
    assert secrets == ["aws_access_key_id", "aws_secret_access_key", "aws_session_token", "gcp_access_token",
                       "local_vault_password", "vault_jwt", "vault_password", "vault_secret_id", "vault_token"]
    assert all("no_log" in spec for spec in argument_spec().values())


def test_module_spec_entries():
    spec = argument_spec(list_versions=dict(type="bool", default=False))
    assert spec["name"] == {"type": "str", "no_log": False, "required": True, "aliases": ["secret", "path"]}
    assert spec["version"] == {"type": "str", "no_log": False}
    assert spec["retries"] == {"type": "int", "no_log": False, "default": 3}
    assert spec["backend"] == {"type": "str", "no_log": False, "default": "local",
                               "choices": ["aws", "gcp", "local", "vault"]}
    assert spec["list_versions"] == {"type": "bool", "default": False}
    assert [name for name, entry in spec.items() if entry.get("required")] == ["name"]


def test_the_factory_derives_from_the_table():
    assert factory.BACKEND_ARGUMENT_SPEC == argument_spec()
    assert list(factory.BACKENDS) == BY_NAME["backend"].choices
    assert sorted(set(o.backend for o in OPTIONS) - {COMMON}) == sorted(factory.BACKENDS)


@pytest.mark.parametrize("given, environ, expected", [
    ({}, {"VAULT_ADDR": "https://env:8200"}, "https://env:8200"),
    ({"vault_url": None}, {"VAULT_ADDR": "https://env:8200"}, "https://env:8200"),
    ({"vault_url": ""}, {"VAULT_ADDR": "https://env:8200"}, "https://env:8200"),
    ({"vault_url": "https://option:8200"}, {"VAULT_ADDR": "https://env:8200"}, "https://option:8200"),
    ({}, {"VAULT_ADDR": ""}, None),
    ({}, {}, None),
])
def test_env_fallbacks_fill_only_unset_options(given, environ, expected):
    before = dict(given)
    merged = with_env_fallbacks(dict(given, backend="vault"), environ)
    assert merged["vault_url"] == expected and merged["backend"] == "vault"
    assert given == before


def test_env_fallbacks_of_the_vault_options_are_the_stores_variables_bao_first():
    # The bao CLI's order: BAO_ADDR wins over VAULT_ADDR when both are set (seen with OpenBao 2.7).
    assert dict((o.name, o.env) for o in OPTIONS if o.env and o.backend == "vault") == {
        "vault_url": ["BAO_ADDR", "VAULT_ADDR"], "vault_namespace": ["BAO_NAMESPACE", "VAULT_NAMESPACE"],
        "vault_token": ["BAO_TOKEN", "VAULT_TOKEN"], "vault_ca_cert": ["BAO_CACERT", "VAULT_CACERT"],
        "vault_validate_certs": ["BAO_SKIP_VERIFY", "VAULT_SKIP_VERIFY"]}
    assert [o.name for o in OPTIONS if o.env_negates] == ["vault_validate_certs"]


@pytest.mark.parametrize("environ, expected", [
    ({"BAO_ADDR": "https://bao:8200", "VAULT_ADDR": "https://vault:8200"}, "https://bao:8200"),
    ({"VAULT_ADDR": "https://vault:8200"}, "https://vault:8200"),
    ({"BAO_ADDR": "https://bao:8200"}, "https://bao:8200"),
    ({"BAO_ADDR": "", "VAULT_ADDR": "https://vault:8200"}, "https://vault:8200"),  # empty counts as unset
])
def test_bao_variables_win_over_vault_variables(environ, expected):
    assert with_env_fallbacks({}, environ)["vault_url"] == expected
    token_env = dict((k.replace("ADDR", "TOKEN"), v) for k, v in environ.items())
    assert with_env_fallbacks({}, token_env)["vault_token"] == expected
    assert with_env_fallbacks({"vault_url": "https://option:8200"}, environ)["vault_url"] == "https://option:8200"


@pytest.mark.parametrize("given, environ, expected", [
    ({}, {}, None),  # unset: the backend verifies
    ({}, {"VAULT_SKIP_VERIFY": "true"}, False),
    ({}, {"VAULT_SKIP_VERIFY": "1"}, False),
    ({}, {"BAO_SKIP_VERIFY": "false"}, True),
    ({}, {"BAO_SKIP_VERIFY": "0", "VAULT_SKIP_VERIFY": "1"}, True),
    ({}, {"BAO_SKIP_VERIFY": "True", "VAULT_SKIP_VERIFY": "0"}, False),
    ({}, {"VAULT_SKIP_VERIFY": ""}, None),
    ({"vault_validate_certs": True}, {"VAULT_SKIP_VERIFY": "1"}, True),  # an explicit option wins
    ({"vault_validate_certs": False}, {"BAO_SKIP_VERIFY": "0"}, False),
])
def test_skip_verify_variables_negate_validate_certs(given, environ, expected):
    assert BY_NAME["vault_validate_certs"].default is None  # a default would hide the variables
    assert with_env_fallbacks(given, environ)["vault_validate_certs"] is expected


def test_a_skip_verify_variable_that_is_no_boolean_is_refused():
    with pytest.raises(BadConfiguration) as exc:
        with_env_fallbacks({}, {"BAO_SKIP_VERIFY": "maybe"})
    assert (exc.value.backend, exc.value.problem, exc.value.fix) == (
        "vault", "environment variable BAO_SKIP_VERIFY is 'maybe', not a boolean",
        "set BAO_SKIP_VERIFY to true or false, or unset it")


def test_ca_cert_variables():
    assert with_env_fallbacks({}, {"BAO_CACERT": "/b.pem", "VAULT_CACERT": "/v.pem"})["vault_ca_cert"] == "/b.pem"
    assert with_env_fallbacks({}, {"VAULT_CACERT": "/v.pem"})["vault_ca_cert"] == "/v.pem"
    assert with_env_fallbacks({"vault_ca_cert": "/o.pem"}, {"VAULT_CACERT": "/v.pem"})["vault_ca_cert"] == "/o.pem"


def mappings(node):
    """Every mapping in a YAML document, nested ones included."""
    if isinstance(node, dict):
        yield node
        node = list(node.values())
    if isinstance(node, list):
        for value in node:
            yield from mappings(value)


def test_no_yaml_restates_the_option_list():
    """A store reference or a store dict names one backend's options; a mapping naming the options of
    several backends is the option list written out again (read_secrets.yml once held 37 such lines)."""
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 6))
    restated = []
    for top in ("roles", "playbooks", "molecule", "examples"):
        for dirpath, _dirnames, filenames in os.walk(os.path.join(root, top)):
            for filename in filenames:
                if not filename.endswith((".yml", ".yaml")):
                    continue
                path = os.path.join(dirpath, filename)
                with open(path) as handle:
                    try:
                        docs = list(yaml.load_all(handle, Loader=yaml.BaseLoader))
                    except yaml.YAMLError:
                        continue  # not plain YAML (a template); ansible-lint checks those that are
                for mapping in (m for doc in docs for m in mappings(doc)):
                    backends = set(BY_NAME[key].backend for key in mapping if key in BY_NAME) - {COMMON}
                    if len(backends) > 1:
                        restated.append("%s: %s" % (os.path.relpath(path, root), sorted(backends)))
    assert restated == []
