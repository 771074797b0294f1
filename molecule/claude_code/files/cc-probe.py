# Workstation probe for verify_present.yml, run on the host as root with one JSON argument:
# stat the given paths, run the token helper as each user, try reads as another user, parse settings files.
import json
import os
import pwd
import stat
import subprocess
import sys

cfg = json.loads(sys.argv[1])
out = {"stat": {}, "helper": {}, "denied": {}, "settings": {}}
for path in cfg["paths"]:
    try:
        st = os.stat(path)
        out["stat"][path] = {"mode": "%04o" % stat.S_IMODE(st.st_mode), "owner": pwd.getpwuid(st.st_uid).pw_name}
    except FileNotFoundError:
        out["stat"][path] = None
for user in cfg["users"]:
    run = subprocess.run(["runuser", "-u", user, "--", cfg["helper"]], capture_output=True, text=True, check=False)
    out["helper"][user] = {"rc": run.returncode, "stdout": run.stdout, "stderr": run.stderr}
for name, argv in cfg["denied"].items():
    run = subprocess.run(["runuser", "-u", cfg["other"], "--"] + argv, capture_output=True, text=True, check=False)
    out["denied"][name] = {"rc": run.returncode, "stderr": run.stderr}
for path in cfg["settings"]:
    with open(path, encoding="utf-8") as handle:
        out["settings"][path] = json.load(handle)
print(json.dumps(out))
