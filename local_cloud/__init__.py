"""The local AWS: the moto server plus what it lacks to run the deployed platform without Docker.

moto answers the AWS control-plane APIs that Terraform calls; the modules of this package add what a deployed
workspace needs to actually *run*, one module per emulated service. They are applied when the emulator server
starts (``python -m local_cloud.server``, started by ``tools/emulator.py``) and never imported by the stack.
``LOCAL_CLOUD_EXTENSIONS=none`` starts plain moto (plus ``moto_fixes``); docs/emulator.md explains each module.
"""
