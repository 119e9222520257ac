#!/usr/bin/env bash
# Installs what the project needs that pip cannot: Debian packages (MariaDB for the handler tests and the emulator's
# Aurora clusters) and checks that Terraform and Node.js are present. Idempotent; run by `make setup`, so by
# `make test` and `make deploy`.
set -euo pipefail

missing=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server-core)
command -v mariadb-install-db >/dev/null 2>&1 || [ -x /usr/bin/mariadb-install-db ] || missing+=(mariadb-server-core)
command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-client-core)
# mariadb-dump (snapshots of the emulator's Aurora clusters) is in mariadb-client, not -core.
command -v mariadb-dump >/dev/null 2>&1 || missing+=(mariadb-client)

if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "bootstrap: installing Debian packages: $pkgs"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "error: need root or sudo to install: $pkgs" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

command -v terraform >/dev/null 2>&1 || { echo "error: terraform (>= 1.5) is not on PATH" >&2; exit 1; }
command -v node >/dev/null 2>&1 || { echo "error: Node.js (>= 20) is not on PATH; CDKTF's jsii runtime needs it" >&2; exit 1; }
exit 0
