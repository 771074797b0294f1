"""gateway_token's check mode predicts what the real run then does, on every backend against its real
server (aws: moto, gcp: drongo, vault: OpenBao, local: a file): each step runs in check mode first (the
store must not change), then for real, and the two results must agree. The only difference allowed is
``version`` while a write is pending: null in check mode (the id is only known once written)."""
import json
import uuid

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.factory import get_backend
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.options import argument_spec
from ansible_collections.llmops.claude_gateway.plugins.module_utils._tokens import ensure_token
from ansible_runner import run_playbook

BACKEND_ARGUMENT_SPEC = argument_spec()

BACKENDS = ["aws", "gcp", "vault", "local"]

# Steps on one secret: (parameters of the task, a write is expected). The retire modes and counts cover
# keep-more-than-there-is, retire after a write, retire without one, and destroy after disable.
STEPS = [
    (dict(generate=True), True),
    (dict(generate=True), False),
    (dict(generate=True, rotate=True, retire=3), True),
    (dict(generate=True, rotate=True, retire=2), True),
    (dict(generate=True, rotate=True, retire=1), True),
    (dict(generate=True, retire=1), False),
    (dict(generate=True, rotate=True), True),
    (dict(generate=True, retire=1, retire_mode="destroy"), False),
    (dict(value="sk-given-token-0123456789abcdef"), True),
    (dict(value="sk-given-token-0123456789abcdef", retire=1, retire_mode="destroy"), False),
    (dict(generate=True, rotate=True, retire=2, retire_mode="destroy"), True),
]


@pytest.fixture
def store_options(request, tmp_path):
    """Backend options (with ``backend`` and a fresh secret name) for the backend named by the parameter."""
    kind = request.param
    if kind == "aws":
        options = dict(request.getfixturevalue("aws_options"))
    elif kind == "gcp":
        options = dict(request.getfixturevalue("gcp_options"))
    elif kind == "vault":
        options = dict(request.getfixturevalue("openbao_server").options())
    else:
        options = {"local_path": str(tmp_path / "secrets.yml")}
    options.update(backend=kind, name="check-mode-%s" % uuid.uuid4().hex[:10])
    return options


def task(options, **given):
    params = {"value": None, "generate": False, "length": 48, "prefix": "sk-", "rotate": False, "retire": None,
              "retire_mode": "disable", "field": None, "version": None, "version_stage": None}
    params.update(options)
    params.update(given)
    return params


def state(options):
    """The store as the collection lists it: every version with its state and labels (not the dates: moto's
    ListSecretVersionIds reports the time of the call as every version's CreatedDate)."""
    backend = get_backend(task(options))
    try:
        return sorted((v.version, v.state, sorted(v.labels)) for v in backend.versions(options["name"]))
    except Exception as exc:  # noqa: B902 - a missing secret is a state too
        return type(exc).__name__


@pytest.mark.parametrize("store_options", BACKENDS, indirect=True)
def test_check_mode_predicts_the_real_run(store_options):
    for number, (given, writes) in enumerate(STEPS, 1):
        before = state(store_options)
        predicted, _value = ensure_token(get_backend(task(store_options, **given)), task(store_options, **given),
                                         check_mode=True)
        assert state(store_options) == before, "step %d changed the store in check mode" % number
        real, _value = ensure_token(get_backend(task(store_options, **given)), task(store_options, **given))
        what = "step %d %r" % (number, given)
        assert real["changed"] is (writes or bool(real["retired"])), what
        for key in ("changed", "created", "previous_version", "retired", "name", "backend"):
            assert predicted[key] == real[key], "%s: %s predicted %r, real %r" % (what, key, predicted[key], real[key])
        if writes:
            assert predicted["version"] is None and real["version"] not in (None, real["previous_version"]), what
            assert predicted["diff"]["after"]["version"] == "(new version)", what
        else:
            assert predicted["version"] == real["version"] == real["previous_version"], what
            assert predicted["diff"] == real["diff"], what


@pytest.mark.parametrize("store_options", BACKENDS, indirect=True)
def test_the_modules_check_mode_predicts_its_real_run(store_options, tmp_path):
    """The same through ansible-playbook: each task first with check_mode, then for real, on a secret with
    three versions; the registered results are compared."""
    store = dict((k, v) for k, v in store_options.items() if k in BACKEND_ARGUMENT_SPEC and v is not None)
    backend = get_backend(task(store_options))
    for number in range(3):
        backend.write(store["name"], "sk-seeded-%d-0123456789abcdef" % number)
    steps = [dict(generate=True, rotate=True, retire=2), dict(generate=True, retire=1),
             dict(generate=True, retire=1, retire_mode="destroy")]
    tasks = []
    for number, given in enumerate(steps):
        params = dict(store, **given)
        tasks += [{"llmops.claude_gateway.gateway_token": params, "check_mode": True, "register": "p%d" % number},
                  {"llmops.claude_gateway.gateway_token": params, "register": "r%d" % number}]
    out = tmp_path / "results.json"
    names = ", ".join("'p%d': p%d, 'r%d': r%d" % ((n,) * 4) for n in range(len(steps)))
    tasks.append({"ansible.builtin.copy": {"dest": str(out), "content": "{{ {%s} | to_json }}" % names},
                  "check_mode": False})
    run = run_playbook(tmp_path, [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], extra_vars={},
                       name="check-mode")
    assert run.rc == 0, run
    results = json.loads(out.read_text())
    for number, given in enumerate(steps):
        predicted, real = results["p%d" % number], results["r%d" % number]
        for key in ("changed", "created", "previous_version", "retired"):
            assert predicted[key] == real[key], "step %r: %s predicted %r, real %r" % (
                given, key, predicted[key], real[key])
        writes = given.get("rotate", False)
        assert predicted["version"] == (None if writes else real["version"]), given
    # Something to predict: retire 1 after the rotation retires a version on every store (on AWS "retire 2"
    # has nothing to do, AWS deprecates the third version itself).
    assert results["p1"]["retired"] and (results["p0"]["retired"] or store["backend"] == "aws"), results
