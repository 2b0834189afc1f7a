#!/usr/bin/env bash
# Removes what scripts/install.sh installed.
#
#   sudo bash scripts/uninstall.sh            # the service, the application and the command
#   sudo bash scripts/uninstall.sh --purge    # and the data, the configuration and the user
#
# Without --purge the data (/var/lib/mugaika: the keys, the database, the quarantined originals,
# the spool) and the configuration (/etc/mugaika) are kept, with the user that owns them: running
# install.sh again brings the gateway back as it was. --purge deletes them for good: the
# originals and the audit log cannot be read again without a backup (mugaika backup DIR).
#
#   --root DIR   uninstall from DIR as install.sh --root DIR installed it
set -euo pipefail

ROOT=/
PURGE=0
while [[ $# -gt 0 ]]; do
  case "$1" in
  --purge) PURGE=1; shift ;;
  --root) ROOT=${2:?--root needs a value}; shift 2 ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "uninstall.sh: unknown option $1 (see --help)" >&2; exit 1 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "uninstall.sh: run as root: sudo bash scripts/uninstall.sh" >&2; exit 1; }
ROOT=$(realpath -m "$ROOT")
R=${ROOT%/}

if [[ -z "$R" ]]; then
  # Stopped with SIGTERM: work under way finishes, the rest stays in the spool (kept without --purge).
  systemctl disable --now --quiet mugaika.service 2>/dev/null || true
elif [[ -f "$R/etc/systemd/system/mugaika.service" ]]; then
  systemctl --root="$R" disable --quiet mugaika.service 2>/dev/null || true
fi
rm -f "$R/etc/systemd/system/mugaika.service" "$R/etc/systemd/system/multi-user.target.wants/mugaika.service"
rm -rf "$R/etc/systemd/system/mugaika.service.d"
[[ -n "$R" ]] || systemctl daemon-reload
rm -f "$R/usr/local/bin/mugaika"
rm -rf "$R/opt/mugaika"
echo "uninstall.sh: the service, /opt/mugaika and /usr/local/bin/mugaika removed" >&2

if [[ $PURGE -eq 0 ]]; then
  echo "uninstall.sh: kept /var/lib/mugaika (keys, database, originals, spool), /etc/mugaika and the user mugaika; --purge deletes them" >&2
  exit 0
fi
rm -rf "$R/var/lib/mugaika" "$R/etc/mugaika"
prefix=()
[[ -z "$R" ]] || prefix=(--prefix "$R")
if grep -q '^mugaika:' "$R/etc/passwd" 2>/dev/null; then
  userdel "${prefix[@]}" mugaika
fi
if grep -q '^mugaika:' "$R/etc/group" 2>/dev/null; then
  groupdel "${prefix[@]}" mugaika
fi
echo "uninstall.sh: purged /var/lib/mugaika, /etc/mugaika and the user mugaika" >&2
