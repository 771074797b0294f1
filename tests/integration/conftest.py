"""Real secret-store servers on free 127.0.0.1 ports, started once per session and stopped after."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

pytest_plugins = ["servers_cloud", "servers_vault"]
