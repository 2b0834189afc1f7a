#!/bin/sh
# Writes main.cf and master.cf for POSTFIX_ROLE, checks them, then runs Postfix
# in the foreground (postfix start-fg) with its log on stdout.
#
#   POSTFIX_ROLE       internet | lgwan
#   POSTFIX_HOSTNAME   myhostname
#   POSTFIX_CONFIG_DIR where to write (default /etc/postfix; a temporary
#                      directory lets you check the result without Docker:
#                      POSTFIX_CONFIG_DIR=/tmp/x POSTFIX_CHECK_ONLY=1 ...)
#   POSTFIX_CHECK_ONLY 1: write the files and print `postconf -n`, do not start
# internet role:
#   MUGAIKA_FILTER     mugaika's address for content_filter, e.g. [172.30.25.10]:2525
#   MUGAIKA_CLIENT     mugaika's address, allowed to relay (reinjection, bounces)
#   LGWAN_MTA          the LGWAN-side MTA, e.g. [lgwan-mta]:25
#   RELAY_DOMAINS      default city.example.lg.jp
# lgwan role:
#   LGWAN_DOMAINS      default city.example.lg.jp
#   LGWAN_MAIL_DIR     where every message lands (Maildir base; default
#                      /var/mail/lgwan, messages in inbox/new/)
#   LGWAN_MAIL_USER    owner of the stored mail (default lgwan)
#   TRUSTED_CLIENTS    who may relay through it (space separated CIDRs)
set -eu

ROLE=${POSTFIX_ROLE:?set POSTFIX_ROLE to internet or lgwan}
CONF=${POSTFIX_CONFIG_DIR:-/etc/postfix}
TEMPLATES=${MUGAIKA_POSTFIX_TEMPLATES:-/usr/local/share/mugaika/postfix}
mkdir -p "$CONF"

cat > "$CONF/main.cf" <<MAIN
# Written by $0 for POSTFIX_ROLE=$ROLE at container start: edit the templates, not this.
compatibility_level = 3.6
myhostname = ${POSTFIX_HOSTNAME:-$ROLE.mail.invalid}
inet_interfaces = all
inet_protocols = ipv4
# Container logging: to stdout through postlogd.
maillog_file = /dev/stdout
# Docker's service names resolve through /etc/hosts and its embedded DNS.
smtp_host_lookup = native
lmtp_host_lookup = native
alias_maps =
alias_database =
biff = no
MAIN

cat > "$CONF/master.cf" <<'MASTER'
# Written at container start (base services, chroot off).
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
        -o syslog_name=postfix/$service_name
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
MASTER

case "$ROLE" in
internet)
  # The tested templates (examples/postfix/), adapted to the compose network.
  cat "$TEMPLATES/main.cf" >> "$CONF/main.cf"
  # The reinjection listener listens on the container's address, not loopback:
  # mugaika (another container) sends its bounces there.
  sed 's/^127\.0\.0\.1:10026\([[:space:]]\)/10026\1/' "$TEMPLATES/master.cf" >> "$CONF/master.cf"
  domains=${RELAY_DOMAINS:-city.example.lg.jp}
  lgwan=${LGWAN_MTA:?set LGWAN_MTA, e.g. [lgwan-mta]:25}
  routes=""
  for d in $(echo "$domains" | tr ',' ' '); do
    routes="$routes { $d = relay:$lgwan }, { .$d = relay:$lgwan },"
  done
  postconf -c "$CONF" -e \
    "relay_domains = $domains" \
    "content_filter = mugaika:${MUGAIKA_FILTER:?set MUGAIKA_FILTER, e.g. [mugaika]:2525}" \
    "transport_maps = inline:{${routes%,} }" \
    "mynetworks = 127.0.0.0/8 ${MUGAIKA_CLIENT:?set MUGAIKA_CLIENT to the address of mugaika}"
  ;;
lgwan)
  domains=${LGWAN_DOMAINS:-city.example.lg.jp}
  user=${LGWAN_MAIL_USER:-lgwan}
  maildir_base=${LGWAN_MAIL_DIR:-/var/mail/lgwan}
  mkdir -p "$maildir_base"
  chown "$user:" "$maildir_base"
  # Final destination for the LGWAN domains: every address is accepted and
  # stored in one Maildir, $maildir_base/inbox/ (a stand-in for the groupware
  # behind a real LGWAN-side MTA).
  postconf -c "$CONF" -e \
    "mydestination = localhost" \
    "relay_domains =" \
    "virtual_mailbox_domains = $domains" \
    "virtual_mailbox_base = $maildir_base" \
    "virtual_mailbox_maps = regexp:{ { /^/ inbox/ } }" \
    "virtual_uid_maps = static:$(id -u "$user")" \
    "virtual_gid_maps = static:$(id -g "$user")" \
    "mynetworks = 127.0.0.0/8 ${TRUSTED_CLIENTS:-}"
  ;;
*)
  echo "POSTFIX_ROLE must be internet or lgwan, not $ROLE" >&2
  exit 2
  ;;
esac

if [ "${POSTFIX_CHECK_ONLY:-0}" = 1 ]; then
  postconf -c "$CONF" -n
  postconf -c "$CONF" -M
  exit 0
fi
postfix -c "$CONF" check
exec postfix -c "$CONF" start-fg
