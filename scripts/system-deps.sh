#!/usr/bin/env bash
# Installs the Debian packages the test suite and the relay benchmark need.
#
#   bash scripts/system-deps.sh
#
# Idempotent and non-interactive. When everything is already installed it only
# asks dpkg and exits (a few milliseconds), so `npm test` runs it every time as
# its `pretest` step. Installing needs root: run as another user with
# something missing, it names the missing packages and exits 1.
#
# What is installed and why:
#   postfix  test/postfix/*.test.ts start private Postfix instances in front
#            of mugaika; bench/relay.ts uses Postfix as the baseline and its
#            smtp-source / smtp-sink tools as load generator and sink.
#   postgresql  test/global-setup.ts starts a private throwaway cluster
#            (initdb into a temporary folder, 127.0.0.1 only) for the store
#            and audit tests; bench/audit.ts does the same. Debian 12 ships 15.
#   libreoffice-*-nogui, python3-uno  src/converters/office/ converts Office
#            documents to PDF (convert.py drives soffice over UNO) inside
#            bubblewrap; fonts-noto-cjk, fonts-ipaexfont give it Japanese
#            glyphs. fonts-ipaexfont's IPAex Gothic (ipaexg.ttf) is also the
#            font of the invisible text layer over converted pages
#            (src/converters/pdf/text-layer.ts; without it, no text layer). poppler-utils (pdftoppm, pdffonts, pdftotext) and
#            poppler-data check its output in test/converters/office.test.ts;
#            img2pdf turns lossless images into PDFs. tesseract-ocr with its
#            Japanese and English models reads pages without text (policy
#            documents.ocr) in the same bubblewrap isolation.
#   slapd, ldap-utils  test/users/ldap*.test.ts start a private OpenLDAP
#            server (slapd from a temporary config, 127.0.0.1 high ports, LDAPS
#            and StartTLS with a CA made by the test) to log in directory users;
#            ldap-utils (ldapadd, ldapmodify) load and change its test tree.
#   chromium test/web/e2e.test.ts drives Debian's Chromium through
#            playwright-core (no browser download) to log in with TOTP.
#   clamav-daemon  test/scan/*.test.ts and test/core/finding-codes.test.ts
#            start a private clamd (foreground, a temporary clamd.conf, its
#            socket and a one-line signature database in a temporary folder);
#            the gateway scans with a clamd of the site's (scan.clamdSocket).
#   systemd  test/ops/install.test.ts checks the unit scripts/install.sh writes
#            with systemd-analyze verify and systemd-analyze security (offline:
#            no running systemd needed), and enables it with systemctl --root.
#   nsd      test/sender/*.test.ts and the relay's authentication tests start a
#            private authoritative DNS server (NSD from a temporary nsd.conf,
#            127.0.0.1 high port, no privilege drop or chroot) serving SPF, DKIM
#            and DMARC test zones; bench/authentication.ts does the same.
#
# Postfix is preseeded with "No configuration": the package then writes no
# /etc/postfix/main.cf, so its maintainer scripts start no system-wide Postfix
# and nothing listens on port 25. The tests run their own instances from
# temporary config directories on 127.0.0.1 high ports and never touch the
# system one. NSD's package enables nsd.service, but nothing starts it in a
# container (policy-rc.d); on a host, `systemctl disable --now nsd` if port 53
# is not wanted. slapd is preseeded with "omit configuration" for the same reason:
# no system database, no cn=config, no daemon on port 389; the tests start
# their own from a temporary slapd.conf.
set -euo pipefail

PACKAGES=(postfix postgresql
  libreoffice-core-nogui libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui python3-uno
  fonts-noto-cjk fonts-ipaexfont bubblewrap poppler-utils poppler-data img2pdf
  tesseract-ocr tesseract-ocr-jpn tesseract-ocr-eng
  slapd ldap-utils chromium clamav-daemon systemd nsd)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "system-deps: missing Debian packages: ${missing[*]}" >&2
  echo "system-deps: run as root:  sudo bash scripts/system-deps.sh" >&2
  echo "system-deps: (or by hand:  printf '%s\\n' 'postfix postfix/main_mailer_type select No configuration' 'slapd slapd/no_configuration boolean true' | sudo debconf-set-selections && echo 'create_main_cluster = false' | sudo tee -a /etc/postgresql-common/createcluster.conf && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]})" >&2
  exit 1
fi

echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Postfix: no system-wide configuration, hence no system-wide daemon.
# slapd: "omit OpenLDAP server configuration", hence no system directory and no daemon.
debconf-set-selections <<'SEL'
postfix postfix/main_mailer_type select No configuration
slapd slapd/no_configuration boolean true
SEL

# PostgreSQL: no system-wide "main" cluster, hence no server on port 5432;
# the tests initdb their own.
mkdir -p /etc/postgresql-common
if ! grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
  echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
fi

# No package's service is started by its installation: the tests start their
# own clamd, NSD, slapd, PostgreSQL and Postfix on 127.0.0.1 and temp dirs; a
# system nsd on port 53 or a freshclam reaching the Internet is not wanted.
# (policy-rc.d exit 101: "action forbidden", honoured by invoke-rc.d and
# deb-systemd-invoke; one left by someone else is kept.)
own_policy=false
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  own_policy=true
fi
trap 'if [[ $own_policy == true ]]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT

# The package lists are refreshed only here, when something is missing.
apt-get update -q >&2
apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}" >&2

still=()
for pkg in "${missing[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || still+=("$pkg")
done
if [[ ${#still[@]} -ne 0 ]]; then
  echo "system-deps: could not install: ${still[*]}" >&2
  exit 1
fi
echo "system-deps: installed ${missing[*]}" >&2
