"""Offline stand-in for pip's get-pip.py, used by ansible-test to bootstrap pip in its sanity venvs.

ansible-test downloads get-pip.py from a host outside the package registries; this does the same job
with the interpreter's own ensurepip, then lets pip install what ansible-test asked for from PyPI.
ensurepip runs in a child process because it points PIP_CONFIG_FILE at /dev/null in its own process,
which would hide the machine's pip configuration (certificates, indexes) from the install below.
"""
import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"], stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
