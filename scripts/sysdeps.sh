#!/usr/bin/env bash
# System packages the install needs: a C compiler and GMP headers (py-libp2p builds
# fastecdsa from source), Python headers and venv. Installs them with apt-get when run as
# root on Debian/Ubuntu; otherwise says exactly what is missing and exits 1.
set -euo pipefail
PYTHON=${PYTHON:-python3}
missing=()
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
if ! { [ -f /usr/include/gmp.h ] || ls /usr/include/*/gmp.h >/dev/null 2>&1; }; then
  missing+=(libgmp-dev)
fi
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then missing+=(python3-venv); fi
inc=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
[ -f "$inc/Python.h" ] || missing+=(python3-dev)
# node + npm run the js-ipfs test daemon (tests/ipfs_daemon); only needed for `make test`
if [ "${QOS_NEED_NODE:-0}" = 1 ]; then
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "sysdeps: installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "sysdeps: missing system packages: ${missing[*]}" >&2
echo "sysdeps: install them, e.g.: sudo apt-get install -y ${missing[*]}" >&2
exit 1
