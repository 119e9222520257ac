"""Project tooling: offline Terraform, packaging, the local emulator, deploy and report."""
