"""gateway_token and gateway_token_info take their store options from the options table, and document them
with the fragments that the table is tested against."""
import pytest
import yaml

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import options
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.options import BY_NAME, OPTIONS
from ansible_collections.llmops.claude_gateway.plugins.modules import gateway_token, gateway_token_info

from ..module_utils._backends.test_options import FRAGMENT_NAMES, description


def module_argument_spec(module, monkeypatch):
    """The argument_spec ``module.main()`` hands to AnsibleModule."""
    seen = {}

    class Stop(Exception):
        pass

    def capture(**kwargs):
        seen.update(kwargs)
        raise Stop()

    monkeypatch.setattr(module, "AnsibleModule", capture)
    with pytest.raises(Stop):
        module.main()
    return seen


@pytest.mark.parametrize("module", [gateway_token, gateway_token_info], ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_module_argument_spec_and_docs_equal_the_table(module, monkeypatch):
    seen = module_argument_spec(module, monkeypatch)
    for option in OPTIONS:
        assert seen["argument_spec"][option.name] == option.spec(), option.name
    assert seen["mutually_exclusive"][:len(options.MUTUALLY_EXCLUSIVE)] == options.MUTUALLY_EXCLUSIVE
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["extends_documentation_fragment"] == FRAGMENT_NAMES
    name = BY_NAME["name"]
    assert doc["options"]["name"]["type"] == name.type and doc["options"]["name"]["required"] is name.required
    assert doc["options"]["name"]["aliases"] == name.aliases and description(doc["options"]["name"]).startswith(name.doc)
    # the module's own options are documented in the module, not in a fragment
    own = set(seen["argument_spec"]) - set(BY_NAME)
    assert own == set(doc["options"]) - {"name"}
