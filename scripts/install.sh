#!/usr/bin/env bash
# Installs (or upgrades in place) mugaika as a systemd service on Debian 12.
#
#   npm ci                                   # in this checkout: dependencies, and dist/ built
#   sudo bash scripts/install.sh --domain city.example.lg.jp
#
# Options:
#   --domain D        the municipality's mail domain (relayDomains; asked for when absent on a
#                     terminal; needed only the first time, when /etc/mugaika/mugaika.yaml is written)
#   --hostname H      the gateway's SMTP name (default: mugaika.D)
#   --next-hop H:P    the LGWAN-side MTA (default: none: mail lands in /var/lib/mugaika/maildir/
#                     until delivery.nextHop is set)
#   --admin NAME      the first administrator's login name (default: kanri); made only when
#                     there is no administrator yet, its one-time password printed
#   --admin-email A   its mail address (release requests are mailed there)
#   --root DIR        install into DIR as if it were / (a test, or an image being built): users
#                     go into DIR/etc/passwd (useradd --prefix), the unit is enabled with
#                     systemctl --root, nothing is started
#   --no-start        do not start the service (one that was running is started again after the upgrade)
#
# What it does, each step safe to repeat (running it again upgrades in place):
#   - a system user and group `mugaika` (no login, home /var/lib/mugaika)
#   - the application: this checkout's bin/, dist/, production node_modules/ (read from
#     package-lock.json), policies/, examples/, docs/ into /opt/mugaika/app, swapped in whole
#   - /etc/mugaika/mugaika.yaml from examples/mugaika.yaml with the domain filled in, and
#     /etc/mugaika/policy.yaml from policies/default.yaml: written once, never overwritten (the
#     new versions are put beside them as *.dist on every run, to compare after an upgrade)
#   - /var/lib/mugaika, owned by mugaika, mode 0700 (the keys, the database, the quarantine)
#   - /etc/systemd/system/mugaika.service (see the comments in it), enabled, started or restarted
#   - /usr/local/bin/mugaika: the command for root and the service user; run by root, it runs
#     as mugaika, so that nothing it creates in the data dir belongs to root
#   - the first administrator, when there is none
# scripts/uninstall.sh removes it again and keeps the data unless told --purge.
set -euo pipefail

ROOT=/
DOMAIN=''
SMTP_HOSTNAME=''
NEXT_HOP=''
ADMIN=kanri
ADMIN_EMAIL=''
START=1

die() {
  echo "install.sh: $*" >&2
  exit 1
}

while [[ $# -gt 0 ]]; do
  case "$1" in
  --domain) DOMAIN=${2:?--domain needs a value}; shift 2 ;;
  --hostname) SMTP_HOSTNAME=${2:?--hostname needs a value}; shift 2 ;;
  --next-hop) NEXT_HOP=${2:?--next-hop needs a value}; shift 2 ;;
  --admin) ADMIN=${2:?--admin needs a value}; shift 2 ;;
  --admin-email) ADMIN_EMAIL=${2:?--admin-email needs a value}; shift 2 ;;
  --root) ROOT=${2:?--root needs a value}; shift 2 ;;
  --no-start) START=0; shift ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown option $1 (see --help)" ;;
  esac
done

[[ $(id -u) -eq 0 ]] || die "run as root: sudo bash scripts/install.sh"
ROOT=$(realpath -m "$ROOT")
R=${ROOT%/} # prefix for every path written; empty for a real install
LIVE=0
[[ -z "$R" ]] && LIVE=1

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APP=/opt/mugaika/app
ETC=/etc/mugaika
DATA=/var/lib/mugaika
UNIT=/etc/systemd/system/mugaika.service
WRAPPER=/usr/local/bin/mugaika

# --- what this needs ---------------------------------------------------------
NODE=$(command -v node || true)
[[ -n "$NODE" ]] || die "Node.js 20 or newer is needed (Debian 12's nodejs is 18: install Node 20 from nodejs.org or NodeSource first)"
NODE=$(realpath "$NODE")
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
[[ $node_major -ge 20 ]] || die "Node.js $("$NODE" --version) at $NODE is too old: mugaika needs 20 or newer"
[[ -f "$SRC/dist/cli/main.js" && -d "$SRC/node_modules" ]] || die "$SRC is not built: run 'npm ci' in it first (it installs the dependencies and builds dist/)"
command -v setpriv >/dev/null || die "setpriv (util-linux) is missing"
command -v bwrap >/dev/null || echo "install.sh: bubblewrap is not installed: PDF and Office attachments will be removed (fail-closed) until it is; sudo bash scripts/system-deps.sh installs it and the converters" >&2
VERSION=$("$NODE" -p "require('$SRC/package.json').version")

# --- the service user --------------------------------------------------------
mkdir -p "$R/etc"
prefix=()
[[ $LIVE -eq 1 ]] || prefix=(--prefix "$R")
passwd_of() { getent -s files passwd mugaika 2>/dev/null || true; }
[[ $LIVE -eq 1 ]] || passwd_of() { grep '^mugaika:' "$R/etc/passwd" 2>/dev/null || true; }
if [[ -z "$(passwd_of)" ]]; then
  useradd "${prefix[@]}" --system --user-group --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin --comment 'mugaika gateway' mugaika
  echo "install.sh: system user mugaika created" >&2
fi
IFS=: read -r _ _ SVC_UID SVC_GID _ < <(passwd_of)
[[ -n "$SVC_UID" && -n "$SVC_GID" ]] || die "the user mugaika has no uid/gid in $R/etc/passwd"

# --- the application, swapped in whole ---------------------------------------
mkdir -p "$R/opt/mugaika"
NEW="$R/opt/mugaika/app.new"
rm -rf "$NEW"
mkdir -p "$NEW/node_modules"
cp -a "$SRC/package.json" "$SRC/package-lock.json" "$SRC/bin" "$SRC/dist" "$SRC/policies" "$SRC/examples" "$SRC/docs" "$NEW/"
cp -a "$SRC"/README*.md "$NEW/"
# Production dependencies only: every top-level package the lock file does not mark dev.
# (node_modules may be a symlink, hence the trailing /.)
"$NODE" -e '
  const lock = require(process.argv[1]);
  const top = Object.entries(lock.packages).filter(([p, m]) => p.startsWith("node_modules/") && !p.slice(13).includes("/node_modules/") && !m.dev);
  for (const [p] of top) console.log(p.slice(13));
' "$SRC/package-lock.json" | while read -r pkg; do
  [[ -e "$SRC/node_modules/$pkg" ]] || continue
  mkdir -p "$NEW/node_modules/$(dirname "$pkg")"
  cp -a "$SRC/node_modules/./$pkg" "$NEW/node_modules/$(dirname "$pkg")/"
done
chown -R root:root "$NEW"
chmod -R u=rwX,go=rX "$NEW"
# A running gateway still loads files from its folder (worker threads, converter scripts): it is
# stopped (SIGTERM: work under way finishes, the rest waits in the spool, Postfix defers) for the
# few seconds between the swap and the restart, never left running on deleted files.
WAS_ACTIVE=0
if [[ $LIVE -eq 1 ]] && systemctl is-active --quiet mugaika.service; then
  systemctl stop mugaika.service
  WAS_ACTIVE=1
fi
if [[ -d "$R$APP" ]]; then
  rm -rf "$R/opt/mugaika/app.old"
  mv "$R$APP" "$R/opt/mugaika/app.old"
fi
mv "$NEW" "$R$APP"
rm -rf "$R/opt/mugaika/app.old"
echo "install.sh: mugaika $VERSION installed in $R$APP" >&2

# --- configuration: written once, the new defaults beside it -----------------
install -d -m 0750 -o root -g "$SVC_GID" "$R$ETC"
if [[ ! -f "$R$ETC/mugaika.yaml" ]]; then
  if [[ -z "$DOMAIN" && -t 0 ]]; then
    read -r -p "自治体のメールドメイン / the municipality's mail domain (e.g. city.example.lg.jp): " DOMAIN
  fi
  [[ -n "$DOMAIN" ]] || die "give the municipality's mail domain: --domain city.example.lg.jp"
  [[ "$DOMAIN" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] || die "'$DOMAIN' is not a domain name"
  SMTP_HOSTNAME=${SMTP_HOSTNAME:-mugaika.$DOMAIN}
  # From the example: the domain filled in; the example's documentation addresses
  # (192.0.2.x) are no place to send mail to, so the next hop is the one given or none.
  "$NODE" -e '
    const fs = require("node:fs");
    const [example, out, domain, host, nextHop] = process.argv.slice(1);
    let t = fs.readFileSync(example, "utf8");
    t = t.replace(/^# `node bin\/mugaika\.js serve --config.*\n/m, "# scripts/install.sh wrote this file from examples/mugaika.yaml; the service (systemctl restart mugaika) and the mugaika command read it.\n");
    t = t.replace(/^(  hostname: ).*$/m, `$1${host}`);
    t = t.replace(/city\.example\.lg\.jp/g, domain);
    t = t.replace(/^    - 192\.0\.2\.10 .*\n/m, "");
    t = t.replace(/^(  nextHop: ).*$/m, nextHop ? `$1${nextHop}` : "  # nextHop: 192.0.2.20:25   # 設定するまで dataDir/maildir/ に配送します / until set, mail goes to dataDir/maildir/");
    t = t.replace(/^(  bounceRelay: .*)$/m, "  # bounceRelay: 192.0.2.10:25");
    fs.writeFileSync(out, t, { mode: 0o640 });
  ' "$SRC/examples/mugaika.yaml" "$R$ETC/mugaika.yaml.new" "$DOMAIN" "$SMTP_HOSTNAME" "$NEXT_HOP"
  chown "root:$SVC_GID" "$R$ETC/mugaika.yaml.new"
  mv "$R$ETC/mugaika.yaml.new" "$R$ETC/mugaika.yaml"
  echo "install.sh: $ETC/mugaika.yaml written for $DOMAIN" >&2
  [[ -n "$NEXT_HOP" ]] || echo "install.sh: no --next-hop: sanitized mail goes to $DATA/maildir/ until delivery.nextHop is set in $ETC/mugaika.yaml" >&2
elif [[ -n "$DOMAIN" ]]; then
  echo "install.sh: $ETC/mugaika.yaml exists and is kept as it is (--domain is used only for a new one)" >&2
fi
if [[ ! -f "$R$ETC/policy.yaml" ]]; then
  install -m 0640 -o root -g "$SVC_GID" "$SRC/policies/default.yaml" "$R$ETC/policy.yaml"
fi
install -m 0640 -o root -g "$SVC_GID" "$SRC/examples/mugaika.yaml" "$R$ETC/mugaika.yaml.dist"
install -m 0640 -o root -g "$SVC_GID" "$SRC/policies/default.yaml" "$R$ETC/policy.yaml.dist"

# --- the data dir ------------------------------------------------------------
install -d -m 0700 -o "$SVC_UID" -g "$SVC_GID" "$R$DATA"
# Ownership repaired on every run: a command once run as root must not have left files the service cannot open.
chown -R "$SVC_UID:$SVC_GID" "$R$DATA"

# --- the command -------------------------------------------------------------
mkdir -p "$R/usr/local/bin"
cat >"$R$WRAPPER.new" <<EOF
#!/bin/sh
# mugaika $VERSION, written by scripts/install.sh (rewritten on every run).
# Every command reads $ETC/mugaika.yaml unless --config or MUGAIKA_CONFIG says otherwise.
# Run by root it runs as the service user, so that nothing it creates in $DATA
# (keys, database files) belongs to root and locks the service out.
export MUGAIKA_CONFIG="\${MUGAIKA_CONFIG:-$ETC/mugaika.yaml}"
if [ "\$(id -u)" = 0 ]; then
  exec setpriv --reuid=$SVC_UID --regid=$SVC_GID --clear-groups --inh-caps=-all -- env HOME=$DATA $NODE $APP/bin/mugaika.js "\$@"
fi
exec $NODE $APP/bin/mugaika.js "\$@"
EOF
chmod 0755 "$R$WRAPPER.new"
mv "$R$WRAPPER.new" "$R$WRAPPER"

# --- the unit ----------------------------------------------------------------
mkdir -p "$R/etc/systemd/system"
sed -e "s|@NODE@|$NODE|g" -e "s|@APP@|$APP|g" -e "s|@ETC@|$ETC|g" -e "s|@DATA@|$DATA|g" -e "s|@VERSION@|$VERSION|g" \
  "$SRC/scripts/mugaika.service.in" >"$R$UNIT.new"
chmod 0644 "$R$UNIT.new"
mv "$R$UNIT.new" "$R$UNIT"
if [[ $LIVE -eq 1 ]]; then
  systemctl daemon-reload
  systemctl enable --quiet mugaika.service
else
  systemctl --root="$R" enable --quiet mugaika.service
fi

# --- the first administrator -------------------------------------------------
# As the service user, on the installed data dir (under --root, the one in DIR).
as_service() {
  setpriv --reuid="$SVC_UID" --regid="$SVC_GID" --clear-groups --inh-caps=-all -- \
    env -i PATH=/usr/bin:/bin HOME="$R$DATA" MUGAIKA_DATA_DIR="$R$DATA" "$NODE" "$R$APP/bin/mugaika.js" "$@" --config "$R$ETC/mugaika.yaml"
}
if as_service user list --json | grep -q '"role":"admin"'; then
  echo "install.sh: an administrator exists already; none made" >&2
else
  email=()
  [[ -z "$ADMIN_EMAIL" ]] || email=(--email "$ADMIN_EMAIL")
  echo "install.sh: the first administrator, $ADMIN:" >&2
  as_service user add "$ADMIN" --role admin --display-name '管理者' "${email[@]}" --by install.sh
fi

# --- start -------------------------------------------------------------------
if [[ $LIVE -eq 1 && ($START -eq 1 || $WAS_ACTIVE -eq 1) ]]; then
  systemctl restart mugaika.service
  echo "install.sh: mugaika $VERSION started: systemctl status mugaika; journalctl -u mugaika -f" >&2
elif [[ $LIVE -eq 0 ]]; then
  echo "install.sh: installed into $R (nothing started)" >&2
fi
