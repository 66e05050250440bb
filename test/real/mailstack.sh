#!/usr/bin/env bash
# Real Postfix + Dovecot mail stack on loopback only, for integration tests
# and benchmarks of smtp-probe. See test/real/README.md.
#
#   mailstack.sh install              install the Debian packages (root, non-interactive)
#   mailstack.sh start  [DIR]         (re)create and start an instance under DIR
#   mailstack.sh stop   [DIR]         stop that instance
#   mailstack.sh status [DIR]         exit 0 when postfix and dovecot are both running
#   mailstack.sh env    [DIR]         print `export MAILSTACK_...` lines for the instance
#   mailstack.sh sink start|stop [PORT] [DIR]
#                                     Postfix smtp-sink on 127.0.0.1:PORT (default 2526)
#
# DIR defaults to $MAILSTACK_DIR or /tmp/smtp-probe-mailstack.
# Ports: MAILSTACK_SMTP_PORT (2525), MAILSTACK_SUBMISSION_PORT (2587),
#        MAILSTACK_SMTPS_PORT (2465), MAILSTACK_POP3_PORT (2110),
#        MAILSTACK_POP3S_PORT (2995), MAILSTACK_IMAP_PORT (2143),
#        MAILSTACK_IMAPS_PORT (2993), MAILSTACK_SINK_PORT (2526),
#        MAILSTACK_LIMITED_PORT (2524: SMTP, at most 2 connections per client).
# MAILSTACK_START_TIMEOUT (30 s), MAILSTACK_AUTH_FAILURE_DELAY (Dovecot, "2s").
#
# Nothing here can deliver mail off the machine: no relayhost, the default
# and relay transports are an error(8) service ("outside") that bounces every
# message, DNS is disabled for the SMTP/LMTP clients, and master.cf has no
# smtp/relay (outbound SMTP client) service at all. Listeners: 127.0.0.1 only.
set -euo pipefail

DEFAULT_DIR=/tmp/smtp-probe-mailstack
HOSTNAME_FQDN=mail.probe.test
DOMAIN=probe.test
USER1=probe@probe.test
PASS1=probe-secret
USER2=other@probe.test
PASS2=other-secret
VMAIL_USER=vmail
START_TIMEOUT=${MAILSTACK_START_TIMEOUT:-30}

PACKAGES=(postfix dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd swaks libnet-ssleay-perl
  monitoring-plugins-basic prometheus-blackbox-exporter prometheus prometheus-alertmanager time
  openssl ca-certificates shellcheck)
# Binaries whose presence means the packages above are installed.
REQUIRED_FILES=(/usr/sbin/postfix /usr/sbin/postconf /usr/sbin/smtp-sink /usr/sbin/dovecot
  /usr/bin/doveadm /usr/lib/dovecot/imap /usr/lib/dovecot/pop3 /usr/lib/dovecot/lmtp
  /usr/bin/swaks /usr/lib/nagios/plugins/check_smtp /usr/bin/prometheus-blackbox-exporter
  /usr/bin/prometheus /usr/bin/promtool /usr/bin/prometheus-alertmanager /usr/bin/time
  /usr/bin/openssl /etc/ssl/certs/ca-certificates.crt /usr/bin/shellcheck)

log() { printf '[mailstack] %s\n' "$*" >&2; }
die() { printf '[mailstack] ERROR: %s\n' "$*" >&2; exit 1; }

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (postfix/dovecot need it to start)"; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------- install ---

missing_files() {
  local f
  for f in "${REQUIRED_FILES[@]}"; do [[ -e $f ]] || echo "$f"; done
  # swaks needs Net::SSLeay for STARTTLS / --tls-on-connect.
  perl -MNet::SSLeay -e1 2>/dev/null || echo "perl:Net::SSLeay"
}

cmd_install() {
  need_root
  local missing
  missing=$(missing_files)
  if [[ -z $missing ]]; then
    log "all packages already installed"
    return 0
  fi
  log "missing: $(echo $missing)"
  export DEBIAN_FRONTEND=noninteractive

  # Never let package maintainer scripts start a daemon (system postfix,
  # dovecot, blackbox exporter must NOT run). Keep a pre-existing policy-rc.d.
  local created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# written by smtp-probe test/real/mailstack.sh install\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    created_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  elif ! grep -q 'exit 101' /usr/sbin/policy-rc.d; then
    die "/usr/sbin/policy-rc.d exists but does not 'exit 101'; refusing to install (daemons could start)"
  fi

  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  echo "postfix postfix/mailname string $HOSTNAME_FQDN" | debconf-set-selections

  local apt_opts=(-y -q --no-install-recommends
    -o DPkg::Lock::Timeout=300
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  apt-get -q -o DPkg::Lock::Timeout=300 update </dev/null
  apt-get "${apt_opts[@]}" install "${PACKAGES[@]}" </dev/null

  if [[ $created_policy -eq 1 ]]; then
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
  missing=$(missing_files)
  [[ -z $missing ]] || die "still missing after install: $(echo $missing)"
  log "install done"
}

# ------------------------------------------------------------ instance ---

resolve_dir() {
  local d=${1:-${MAILSTACK_DIR:-$DEFAULT_DIR}}
  [[ $d == /* ]] || d="$PWD/$d"
  d=$(realpath -m -- "$d")
  # Dovecot puts unix sockets under DIR/dovecot/run/...; sun_path is 108 bytes.
  [[ ${#d} -le 60 ]] || die "DIR too long (${#d} chars, max 60: unix socket paths): $d"
  [[ $d != / ]] || die "refusing DIR=/"
  printf '%s' "$d"
}

load_ports() {
  # Ports the instance was started with win over the environment (so `env`
  # reports what is really listening); otherwise env overrides, else defaults.
  local dir=$1
  SMTP_PORT=${MAILSTACK_SMTP_PORT:-2525}
  SUBMISSION_PORT=${MAILSTACK_SUBMISSION_PORT:-2587}
  SMTPS_PORT=${MAILSTACK_SMTPS_PORT:-2465}
  POP3_PORT=${MAILSTACK_POP3_PORT:-2110}
  POP3S_PORT=${MAILSTACK_POP3S_PORT:-2995}
  IMAP_PORT=${MAILSTACK_IMAP_PORT:-2143}
  IMAPS_PORT=${MAILSTACK_IMAPS_PORT:-2993}
  SINK_PORT=${MAILSTACK_SINK_PORT:-2526}
  LIMITED_PORT=${MAILSTACK_LIMITED_PORT:-2524}
  if [[ ${2:-} == saved && -r $dir/instance.ports ]]; then
    # shellcheck disable=SC1091
    source "$dir/instance.ports"
  fi
  local p
  for p in "$SMTP_PORT" "$SUBMISSION_PORT" "$SMTPS_PORT" "$POP3_PORT" "$POP3S_PORT" "$IMAP_PORT" "$IMAPS_PORT" "$SINK_PORT" "$LIMITED_PORT"; do
    [[ $p =~ ^[0-9]+$ && $p -ge 1 && $p -le 65535 ]] || die "bad port: $p"
  done
}

postfix_master_pid() {
  local f=$1/postfix-queue/pid/master.pid pid
  [[ -r $f ]] || return 1
  pid=$(tr -dc '0-9' <"$f")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && [[ $(cat /proc/"$pid"/comm 2>/dev/null) == master ]] || return 1
  echo "$pid"
}

dovecot_pid() {
  local f=$1/dovecot/run/master.pid pid
  [[ -r $f ]] || return 1
  pid=$(tr -dc '0-9' <"$f")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && [[ $(cat /proc/"$pid"/comm 2>/dev/null) == dovecot ]] || return 1
  echo "$pid"
}

wait_gone() { # pid seconds
  local pid=$1 n=$(($2 * 10))
  while ((n-- > 0)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

ensure_vmail_user() {
  if ! getent passwd "$VMAIL_USER" >/dev/null; then
    log "creating system user $VMAIL_USER"
    useradd --system --user-group --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin "$VMAIL_USER"
  fi
  getent passwd postfix >/dev/null || die "user 'postfix' missing: run '$0 install'"
  getent passwd dovecot >/dev/null || die "user 'dovecot' missing: run '$0 install'"
  getent passwd dovenull >/dev/null || die "user 'dovenull' missing: run '$0 install'"
}

port_listeners() { # port -> lines of ss output for listeners on that TCP port
  ss -Hltnp "sport = :$1" 2>/dev/null || true
}

make_tls() {
  local t=$1/tls
  mkdir -p "$t"
  if [[ -s $t/ca.pem && -s $t/cert.pem && -s $t/key.pem ]] &&
    openssl x509 -in "$t/cert.pem" -noout -checkend 86400 >/dev/null 2>&1 &&
    openssl x509 -in "$t/ca.pem" -noout -checkend 86400 >/dev/null 2>&1 &&
    openssl verify -CAfile "$t/ca.pem" "$t/cert.pem" >/dev/null 2>&1 &&
    [[ $(openssl x509 -in "$t/cert.pem" -noout -pubkey 2>/dev/null) == "$(openssl pkey -in "$t/key.pem" -pubout 2>/dev/null)" ]]; then
    return 0 # keep the existing CA so clients holding ca.pem keep working
  fi
  log "creating test CA and server certificate in $t"
  cat >"$t/openssl.cnf" <<EOF
[req]
distinguished_name = dn_ca
prompt = no
[dn_ca]
CN = smtp-probe mailstack test CA
O = smtp-probe tests
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:$HOSTNAME_FQDN,DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
EOF
  (
    umask 077
    openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 365 \
      -config "$t/openssl.cnf" -extensions v3_ca \
      -keyout "$t/ca.key" -out "$t/ca.pem" 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -sha256 \
      -config "$t/openssl.cnf" -subj "/CN=$HOSTNAME_FQDN/O=smtp-probe tests" \
      -keyout "$t/key.pem" -out "$t/server.csr" 2>/dev/null
    openssl x509 -req -sha256 -days 365 -in "$t/server.csr" \
      -CA "$t/ca.pem" -CAkey "$t/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
      -extfile "$t/openssl.cnf" -extensions v3_server -out "$t/cert.pem" 2>/dev/null
  )
  rm -f "$t/server.csr"
  cat "$t/cert.pem" "$t/ca.pem" >"$t/fullchain.pem"
  chmod 0644 "$t/ca.pem" "$t/cert.pem" "$t/fullchain.pem"
  chmod 0640 "$t/key.pem" # test-only key; root reads it before daemons drop privileges
  chmod 0600 "$t/ca.key"
  openssl verify -CAfile "$t/ca.pem" "$t/cert.pem" >/dev/null || die "generated certificate does not verify"
}

write_postfix_config() {
  local dir=$1 pf=$1/postfix
  # queue/data must NOT be below config_directory: `postfix check` walks the
  # config directory and warns about every postfix-owned file in it.
  mkdir -p "$pf" "$dir/postfix-queue" "$dir/postfix-data"
  chmod 0755 "$pf" "$dir/postfix-queue"
  chown root:root "$pf" "$dir/postfix-queue"
  chown postfix:postfix "$dir/postfix-data"

  cat >"$pf/main.cf" <<EOF
# Generated by test/real/mailstack.sh -- test instance, loopback only.
compatibility_level = 3.6
config_directory = $pf
queue_directory = $dir/postfix-queue
data_directory = $dir/postfix-data
mail_owner = postfix
setgid_group = postdrop

# Logging to a file (postlogd, see master.cf), no syslog needed.
maillog_file = $dir/postfix.log
maillog_file_prefixes = $dir

myhostname = $HOSTNAME_FQDN
mydomain = $DOMAIN
myorigin = \$mydomain
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
smtpd_banner = \$myhostname ESMTP
biff = no
append_dot_mydomain = no
message_size_limit = 10240000

# Loopback only, IPv4 only.
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
# Nothing is trusted by IP: relaying needs SASL authentication even from loopback.
mynetworks = 127.0.0.2/32
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions =
smtpd_peername_lookup = no
smtpd_client_event_limit_exceptions = 127.0.0.0/8

# Delivery can never leave this machine. Every non-$DOMAIN destination goes to
# "outside", an error(8) delivery agent (see master.cf) that bounces each message.
# It is not named "error" on purpose: smtpd rejects RCPT at once (550) for
# addresses that resolve to the transport literally named "error", whereas a
# real server accepts authenticated relay and fails later; this models that.
# (error(8) only works under the service name "error", hence "-n error" in
# master.cf; should that ever break, mail to "outside" just stays queued.)
relayhost =
default_transport = outside:outside delivery disabled in test stack
relay_transport = outside:outside delivery disabled in test stack
local_transport = error:local delivery disabled in test stack
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
address_verify_default_transport = error:outside delivery disabled in test stack

# The only real destination: $DOMAIN, handed to Dovecot over LMTP (unix socket).
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_maps = texthash:$pf/vmailbox
virtual_alias_maps = texthash:$pf/virtual
virtual_transport = lmtp:unix:$dir/dovecot/lmtp
lmtp_destination_recipient_limit = 50

# TLS (STARTTLS offered on the plain port, required on submission).
smtpd_tls_cert_file = $dir/tls/cert.pem
smtpd_tls_key_file = $dir/tls/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtp_tls_security_level = none

# SASL via Dovecot; enabled per service in master.cf (not on the plain port).
smtpd_sasl_auth_enable = no
smtpd_sasl_type = dovecot
smtpd_sasl_path = $dir/dovecot/auth
smtpd_tls_auth_only = yes
broken_sasl_auth_clients = no
EOF

  local restrict="permit_sasl_authenticated,reject"
  cat >"$pf/master.cf" <<EOF
# Generated by test/real/mailstack.sh. No service is chrooted. There is
# deliberately no smtp/relay (outbound SMTP client) service: "outside" is the
# error(8) agent that bounces all mail for domains other than $DOMAIN.
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
127.0.0.1:$SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_client_restrictions=$restrict
  -o smtpd_relay_restrictions=$restrict
  -o milter_macro_daemon_name=ORIGINATING
127.0.0.1:$SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=$restrict
  -o smtpd_relay_restrictions=$restrict
  -o milter_macro_daemon_name=ORIGINATING
# Capacity tests: anvil counts connections per client and service; at the 3rd at once from one client this
# smtpd greets with "421 4.7.0 ... Error: too many connections from 127.0.0.1". main.cf exempts 127.0.0.0/8
# from every client limit; here the exemption list is empty, so loopback clients are counted too.
127.0.0.1:$LIMITED_PORT inet n - n - - smtpd
  -o syslog_name=postfix/limited
  -o smtpd_client_connection_count_limit=2
  -o smtpd_client_event_limit_exceptions=
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
outside   unix  -       -       n       -       -       error -n error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

  printf '%s OK\n%s OK\n' "$USER1" "$USER2" >"$pf/vmailbox"
  printf 'postmaster@%s %s\nabuse@%s %s\n' "$DOMAIN" "$USER1" "$DOMAIN" "$USER1" >"$pf/virtual"
  chmod 0644 "$pf/main.cf" "$pf/master.cf" "$pf/vmailbox" "$pf/virtual"
}

write_dovecot_config() {
  local dir=$1 dc=$1/dovecot vuid vgid
  vuid=$(id -u "$VMAIL_USER")
  vgid=$(id -g "$VMAIL_USER")
  mkdir -p "$dc" "$dc/run" "$dir/mail"
  chmod 0755 "$dc"
  chown "$VMAIL_USER:$VMAIL_USER" "$dir/mail"
  chmod 0750 "$dir/mail"

  # passwd-file: user:password:uid:gid:gecos:home:shell:extra
  (
    umask 027
    printf '%s:{PLAIN}%s::::::\n%s:{PLAIN}%s::::::\n' "$USER1" "$PASS1" "$USER2" "$PASS2" >"$dc/users"
  )
  chown root:dovecot "$dc/users"
  chmod 0640 "$dc/users"

  local dh=""
  [[ -r /usr/share/dovecot/dh.pem ]] && dh="ssl_dh = </usr/share/dovecot/dh.pem"

  cat >"$dc/dovecot.conf" <<EOF
# Generated by test/real/mailstack.sh -- test instance, loopback only.
# Plaintext auth is allowed without TLS (disable_plaintext_auth = no): this is a
# loopback-only test stack with fixed test passwords; never do this for real.
instance_name = smtp-probe-mailstack
base_dir = $dc/run
state_dir = $dc/state
log_path = $dir/dovecot.log
info_log_path = $dir/dovecot.log
hostname = $HOSTNAME_FQDN
postmaster_address = postmaster@$DOMAIN
protocols = imap pop3 lmtp
listen = 127.0.0.1
shutdown_clients = yes

ssl = yes
ssl_cert = <$dir/tls/cert.pem
ssl_key = <$dir/tls/key.pem
$dh

disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
# Dovecot's default: a failed login is answered after 2 s (535 comes late).
auth_failure_delay = ${MAILSTACK_AUTH_FAILURE_DELAY:-2s}

first_valid_uid = $vuid
last_valid_uid = $vuid
first_valid_gid = $vgid
last_valid_gid = $vgid
mail_uid = $vuid
mail_gid = $vgid
mail_location = maildir:$dir/mail/%d/%n/Maildir

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dc/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $dc/users
  default_fields = uid=$vuid gid=$vgid home=$dir/mail/%d/%n
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3_PORT
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $POP3S_PORT
    ssl = yes
  }
}
service lmtp {
  unix_listener $dc/lmtp {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service auth {
  unix_listener $dc/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service imap-urlauth-login {
  inet_listener imap-urlauth {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
service managesieve-login {
  inet_listener sieve {
    port = 0
  }
}

protocol lmtp {
  postmaster_address = postmaster@$DOMAIN
}
protocol pop3 {
  pop3_uidl_format = %08Xu%08Xv
}
EOF
  chmod 0644 "$dc/dovecot.conf"
}

ensure_alternate_config_dir() {
  # postfix(1) run as root accepts -c for any directory, but set-gid helpers
  # (postdrop/postqueue, i.e. sendmail) only accept directories listed in the
  # default main.cf. The package was installed with "No configuration", so
  # there may be no /etc/postfix/main.cf at all: create a minimal one.
  local pf=$1/postfix
  mkdir -p /etc/postfix
  if [[ ! -e /etc/postfix/main.cf ]]; then
    cat >/etc/postfix/main.cf <<EOF
# Minimal default main.cf written by smtp-probe test/real/mailstack.sh.
# The system Postfix instance is NOT used and must not run.
compatibility_level = 3.6
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
relayhost =
default_transport = error:system postfix instance not used
master_service_disable = inet
alternate_config_directories = $pf
EOF
  else
    local cur
    cur=$(postconf -h -c /etc/postfix alternate_config_directories 2>/dev/null || true)
    if ! tr ', ' '\n\n' <<<"$cur" | grep -qxF "$pf"; then
      postconf -c /etc/postfix -e "alternate_config_directories = ${cur:+$cur, }$pf"
    fi
  fi
}

show_logs() {
  local dir=$1
  log "---- last lines of $dir/postfix.log ----"
  tail -n 25 "$dir/postfix.log" >&2 2>/dev/null || true
  log "---- last lines of $dir/dovecot.log ----"
  tail -n 25 "$dir/dovecot.log" >&2 2>/dev/null || true
  log "---- $dir/postfix-start.log ----"
  tail -n 25 "$dir/postfix-start.log" >&2 2>/dev/null || true
}

tcp_banner() { # port expected-prefix quit-command
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    IFS= read -r -t 4 line <&3 || exit 1
    [[ $line == "$2"* ]] || { echo "unexpected banner on port $1: $line" >&2; exit 1; }
    printf "%s\r\n" "$3" >&3 2>/dev/null || true
    exit 0' _ "$1" "$2" "$3"
}

tls_ok() { # port
  timeout 5 openssl s_client -connect "127.0.0.1:$1" -servername "$HOSTNAME_FQDN" \
    -CAfile "$DIR/tls/ca.pem" -verify_return_error -brief </dev/null >/dev/null 2>&1
}

wait_ready() {
  local dir=$1 deadline=$((SECONDS + START_TIMEOUT)) p pending failed=()
  local ports=("$SMTP_PORT" "$SUBMISSION_PORT" "$SMTPS_PORT" "$POP3_PORT" "$POP3S_PORT" "$IMAP_PORT" "$IMAPS_PORT" "$LIMITED_PORT")
  while :; do
    pending=()
    for p in "${ports[@]}"; do
      [[ -n $(ss -Hltn "src 127.0.0.1 and sport = :$p" 2>/dev/null) ]] || pending+=("port $p")
    done
    [[ -S $dir/dovecot/lmtp ]] || pending+=("$dir/dovecot/lmtp")
    [[ -S $dir/dovecot/auth ]] || pending+=("$dir/dovecot/auth")
    if [[ ${#pending[@]} -eq 0 ]]; then
      # Everything listens: now talk to it once (real greetings, real TLS
      # handshakes verified against our CA), retrying at most once a second.
      failed=()
      tcp_banner "$SMTP_PORT" "220 " QUIT || failed+=("SMTP greeting on $SMTP_PORT")
      tcp_banner "$SUBMISSION_PORT" "220 " QUIT || failed+=("SMTP greeting on $SUBMISSION_PORT")
      tcp_banner "$LIMITED_PORT" "220 " QUIT || failed+=("SMTP greeting on $LIMITED_PORT")
      tcp_banner "$IMAP_PORT" "* OK" "a LOGOUT" || failed+=("IMAP greeting on $IMAP_PORT")
      tcp_banner "$POP3_PORT" "+OK" QUIT || failed+=("POP3 greeting on $POP3_PORT")
      tls_ok "$SMTPS_PORT" || failed+=("TLS handshake on $SMTPS_PORT")
      tls_ok "$IMAPS_PORT" || failed+=("TLS handshake on $IMAPS_PORT")
      tls_ok "$POP3S_PORT" || failed+=("TLS handshake on $POP3S_PORT")
      [[ ${#failed[@]} -eq 0 ]] && return 0
      pending=("${failed[@]}")
    fi
    if ((SECONDS >= deadline)); then
      log "not ready after ${START_TIMEOUT}s; failing: $(IFS=,; echo "${pending[*]}")"
      return 1
    fi
    if ! postfix_master_pid "$dir" >/dev/null || ! dovecot_pid "$dir" >/dev/null; then
      sleep 0.5 # give a dying master a moment to write its log
      postfix_master_pid "$dir" >/dev/null || log "postfix master is not running"
      dovecot_pid "$dir" >/dev/null || log "dovecot is not running"
      return 1
    fi
    if [[ ${#failed[@]} -gt 0 ]]; then sleep 1; else sleep 0.1; fi
  done
}

cmd_stop() {
  need_root
  local dir ppid="" dpid="" pid
  dir=$(resolve_dir "${1:-}")
  # Signal both, then wait for both (each master takes 1-3 s to wind down).
  if ppid=$(postfix_master_pid "$dir"); then
    log "stopping postfix (master pid $ppid)"
    postfix -c "$dir/postfix" stop >/dev/null 2>&1 || kill -TERM "$ppid" 2>/dev/null || true
  fi
  if dpid=$(dovecot_pid "$dir"); then
    log "stopping dovecot (pid $dpid)"
    kill -TERM "$dpid" 2>/dev/null || true
  fi
  for pid in $ppid $dpid; do
    if ! wait_gone "$pid" 15; then
      log "pid $pid did not exit; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 5 || true
    fi
  done
  # Postfix children exit on their own once the master is gone; give them a moment.
  local n=50
  while ((n-- > 0)) && pgrep_instance "$dir" >/dev/null; do sleep 0.1; done
  if [[ -n $ppid$dpid ]]; then log "stopped instance in $dir"; else log "no running instance in $dir"; fi
  return 0
}

# PIDs of leftover Postfix processes of the instance in DIR: their command
# lines do not name DIR, but postfix(1) -c exports MAIL_CONFIG=DIR/postfix.
pgrep_instance() {
  local f
  f=$(grep -lzaxF "MAIL_CONFIG=$1/postfix" /proc/[0-9]*/environ 2>/dev/null) || return 1
  sed 's|^/proc/||; s|/environ$||' <<<"$f"
}

cmd_start() {
  need_root
  local missing
  missing=$(missing_files)
  [[ -z $missing ]] || die "packages missing ($(echo $missing)): run '$0 install' first"
  DIR=$(resolve_dir "${1:-}")
  load_ports "$DIR"

  if postfix_master_pid "$DIR" >/dev/null || dovecot_pid "$DIR" >/dev/null; then
    log "instance in $DIR is running: restarting"
    cmd_stop "$DIR"
  fi

  local p busy=""
  for p in "$SMTP_PORT" "$SUBMISSION_PORT" "$SMTPS_PORT" "$POP3_PORT" "$POP3S_PORT" "$IMAP_PORT" "$IMAPS_PORT" "$LIMITED_PORT"; do
    local l
    l=$(port_listeners "$p")
    [[ -z $l ]] || busy+="  port $p: $l"$'\n'
  done
  [[ -z $busy ]] || die "ports already in use (another instance or service? override with MAILSTACK_*_PORT):"$'\n'"$busy"

  ensure_vmail_user
  mkdir -p "$DIR"
  chown root:root "$DIR"
  chmod 0755 "$DIR"
  # postfix/dovecot users must reach sockets under DIR.
  runuser -u postfix -- test -x "$DIR" ||
    die "user 'postfix' cannot traverse $DIR (a parent directory is not world-executable); pick another DIR"

  make_tls "$DIR"
  write_postfix_config "$DIR"
  write_dovecot_config "$DIR"
  ensure_alternate_config_dir "$DIR"
  # Fresh logs per start (the previous run's are kept as *.log.prev), so a
  # test grepping a log only sees this instance's history.
  local lf
  for lf in postfix.log dovecot.log; do
    if [[ -s $DIR/$lf ]]; then mv -f "$DIR/$lf" "$DIR/$lf.prev"; fi
  done
  touch "$DIR/postfix.log" "$DIR/dovecot.log"
  chmod 0644 "$DIR/postfix.log" "$DIR/dovecot.log"
  rm -f "$DIR/dovecot/lmtp" "$DIR/dovecot/auth"

  log "checking dovecot config"
  doveconf -c "$DIR/dovecot/dovecot.conf" -n >"$DIR/dovecot/doveconf-n.txt" 2>"$DIR/dovecot/doveconf.err" ||
    { cat "$DIR/dovecot/doveconf.err" >&2; die "dovecot config invalid: $DIR/dovecot/dovecot.conf"; }

  log "starting dovecot"
  if ! dovecot -c "$DIR/dovecot/dovecot.conf" 2>"$DIR/dovecot-start.log"; then
    cat "$DIR/dovecot-start.log" >&2
    show_logs "$DIR"
    die "dovecot failed to start; see $DIR/dovecot.log"
  fi

  log "starting postfix"
  if ! { postfix -c "$DIR/postfix" check && postfix -c "$DIR/postfix" start; } >"$DIR/postfix-start.log" 2>&1; then
    show_logs "$DIR"
    cmd_stop "$DIR" || true
    die "postfix failed to start; see $DIR/postfix.log and $DIR/postfix-start.log"
  fi

  if ! wait_ready "$DIR"; then
    show_logs "$DIR"
    cmd_stop "$DIR" || true
    die "mail stack did not become ready within ${START_TIMEOUT}s; logs: $DIR/postfix.log $DIR/dovecot.log"
  fi

  cat >"$DIR/instance.ports" <<EOF
SMTP_PORT=$SMTP_PORT
SUBMISSION_PORT=$SUBMISSION_PORT
SMTPS_PORT=$SMTPS_PORT
POP3_PORT=$POP3_PORT
POP3S_PORT=$POP3S_PORT
IMAP_PORT=$IMAP_PORT
IMAPS_PORT=$IMAPS_PORT
SINK_PORT=$SINK_PORT
LIMITED_PORT=$LIMITED_PORT
EOF
  log "mail stack running in $DIR (postfix pid $(postfix_master_pid "$DIR"), dovecot pid $(dovecot_pid "$DIR"))"
  log "use:  eval \"\$($0 env $DIR)\""
}

cmd_status() {
  local dir rc=0 pid
  dir=$(resolve_dir "${1:-}")
  if pid=$(postfix_master_pid "$dir"); then echo "postfix: running (pid $pid)"; else echo "postfix: stopped"; rc=1; fi
  if pid=$(dovecot_pid "$dir"); then echo "dovecot: running (pid $pid)"; else echo "dovecot: stopped"; rc=1; fi
  if pid=$(sink_pid "$dir"); then echo "smtp-sink: running (pid $pid)"; else echo "smtp-sink: stopped"; fi
  return $rc
}

cmd_env() {
  local dir
  dir=$(resolve_dir "${1:-}")
  load_ports "$dir" saved
  local kv=(
    MAILSTACK_HOST=127.0.0.1
    MAILSTACK_HOSTNAME=$HOSTNAME_FQDN
    MAILSTACK_DOMAIN=$DOMAIN
    MAILSTACK_SMTP_PORT=$SMTP_PORT
    MAILSTACK_SUBMISSION_PORT=$SUBMISSION_PORT
    MAILSTACK_SMTPS_PORT=$SMTPS_PORT
    MAILSTACK_POP3_PORT=$POP3_PORT
    MAILSTACK_POP3S_PORT=$POP3S_PORT
    MAILSTACK_IMAP_PORT=$IMAP_PORT
    MAILSTACK_IMAPS_PORT=$IMAPS_PORT
    MAILSTACK_SINK_PORT=$SINK_PORT
    MAILSTACK_LIMITED_PORT=$LIMITED_PORT
    MAILSTACK_CA=$dir/tls/ca.pem
    MAILSTACK_CERT=$dir/tls/cert.pem
    MAILSTACK_KEY=$dir/tls/key.pem
    MAILSTACK_USER=$USER1
    MAILSTACK_PASS=$PASS1
    MAILSTACK_OTHER_USER=$USER2
    MAILSTACK_OTHER_PASS=$PASS2
    MAILSTACK_MAILDIR=$dir/mail/$DOMAIN/${USER1%@*}/Maildir
    MAILSTACK_OTHER_MAILDIR=$dir/mail/$DOMAIN/${USER2%@*}/Maildir
    MAILSTACK_POSTFIX_LOG=$dir/postfix.log
    MAILSTACK_DOVECOT_LOG=$dir/dovecot.log
    MAILSTACK_DIR=$dir
  )
  local e
  for e in "${kv[@]}"; do printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"; done
}

# ---------------------------------------------------------------- sink ---

find_smtp_sink() {
  local c
  for c in /usr/sbin/smtp-sink /usr/lib/postfix/sbin/smtp-sink /usr/libexec/postfix/smtp-sink; do
    [[ -x $c ]] && { echo "$c"; return 0; }
  done
  command -v smtp-sink 2>/dev/null || return 1
}

sink_pid() {
  local f=$1/sink.pid pid
  [[ -r $f ]] || return 1
  pid=$(tr -dc '0-9' <"$f")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && [[ $(cat /proc/"$pid"/comm 2>/dev/null) == smtp-sink ]] || return 1
  echo "$pid"
}

sink_stop() {
  local dir=$1 pid
  if pid=$(sink_pid "$dir"); then
    log "stopping smtp-sink (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/sink.pid"
}

cmd_sink() {
  need_root
  local action=${1:-} port dir pid bin
  case $action in start | stop) ;; *) usage ;; esac
  port=${2:-${MAILSTACK_SINK_PORT:-2526}}
  [[ $port =~ ^[0-9]+$ ]] || die "bad port: $port"
  dir=$(resolve_dir "${3:-}")
  mkdir -p "$dir"
  sink_stop "$dir"
  [[ $action == stop ]] && return 0

  bin=$(find_smtp_sink) || die "smtp-sink not found: run '$0 install'"
  [[ -z $(port_listeners "$port") ]] || die "port $port already in use: $(port_listeners "$port")"
  # -u nobody: drop root after binding. No -d (no DATA dump), no -p (keep
  # PIPELINING), no -c (counter output), -R nothing. Backlog 1000.
  # -h: hostname in the greeting/HELO reply.
  log "starting smtp-sink on 127.0.0.1:$port"
  setsid "$bin" -4 -u nobody -m 500 -h sink.probe.test "127.0.0.1:$port" 1000 \
    </dev/null >"$dir/sink.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/sink.pid"
  local n=50
  while ((n-- > 0)); do
    [[ -n $(ss -Hltn "src 127.0.0.1 and sport = :$port" 2>/dev/null) ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/sink.log" >&2; die "smtp-sink exited; see $dir/sink.log"; }
    sleep 0.1
  done
  [[ -n $(ss -Hltn "src 127.0.0.1 and sport = :$port" 2>/dev/null) ]] || die "smtp-sink not listening on $port; see $dir/sink.log"
  if [[ -r $dir/instance.ports ]]; then
    sed -i "s/^SINK_PORT=.*/SINK_PORT=$port/" "$dir/instance.ports"
  fi
  log "smtp-sink running (pid $pid) on 127.0.0.1:$port"
}

# ---------------------------------------------------------------- main ---

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    install) cmd_install "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" && sink_stop "$(resolve_dir "${1:-}")" ;;
    restart) cmd_start "$@" ;;
    status) cmd_status "$@" ;;
    env) cmd_env "$@" ;;
    sink) cmd_sink "$@" ;;
    -h | --help | help | "") usage ;;
    *) log "unknown command: $cmd"; usage ;;
  esac
}

main "$@"
