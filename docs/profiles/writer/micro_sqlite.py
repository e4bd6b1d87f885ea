# ruff: noqa - a measurement script kept as it was run for docs/profiles/README.md (the batch writer pass)
import os
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, sys.argv[1]); os.chdir(sys.argv[1])
os.environ["DJANGO_SETTINGS_MODULE"]="config.test_settings"
import django; django.setup()
from tests.harness import *

stack=LiveStack(pathlib.Path(tempfile.mkdtemp()))
t=Template.for_stack(stack)
import shutil

var=pathlib.Path(tempfile.mkdtemp())/"var"; shutil.copytree(t.var, var)
env=stack.build_env(var_dir=var, db_url=""); env["PYTHONPATH"]=sys.argv[1]
d=subprocess.run([str(BIN/"python"),"docs/profiles/writer/micro.py", sys.argv[2]],cwd=ROOT,env=env,capture_output=True,text=True)
print(d.stdout, d.stderr[-3000:])
