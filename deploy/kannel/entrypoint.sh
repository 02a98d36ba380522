#!/bin/sh
# Fill kannel.conf's placeholders from the environment, then run bearerbox and smsbox; if either
# stops, stop the other, so that the container restarts whole.
set -eu
: "${SMSC_HOST:?set SMSC_HOST (the aggregator's SMPP host)}"
: "${SMSC_PORT:?set SMSC_PORT}"
: "${SMSC_SYSTEM_ID:?set SMSC_SYSTEM_ID}"
: "${SMSC_PASSWORD:?set SMSC_PASSWORD}"
: "${KANNEL_SENDSMS_PASSWORD:?set KANNEL_SENDSMS_PASSWORD (and CPGW_KANNEL_PASSWORD to the same)}"
export KANNEL_ADMIN_PORT="${KANNEL_ADMIN_PORT:-13000}" KANNEL_SMSBOX_PORT="${KANNEL_SMSBOX_PORT:-13001}"
export KANNEL_SENDSMS_PORT="${KANNEL_SENDSMS_PORT:-13013}" KANNEL_SENDSMS_INTERFACE="${KANNEL_SENDSMS_INTERFACE:-0.0.0.0}"
export KANNEL_SENDSMS_ALLOW_IP="${KANNEL_SENDSMS_ALLOW_IP:-127.0.0.1;172.*.*.*}"
export KANNEL_SENDSMS_USER="${KANNEL_SENDSMS_USER:-cpgw}" KANNEL_LOG_LEVEL="${KANNEL_LOG_LEVEL:-1}"
export KANNEL_ADMIN_PASSWORD="${KANNEL_ADMIN_PASSWORD:-$(head -c 18 /dev/urandom | base64)}"
export DLT_ENTITY_TLV="${DLT_ENTITY_TLV:-0x1400}" DLT_TEMPLATE_TLV="${DLT_TEMPLATE_TLV:-0x1401}"
export GATEWAY_URL="${GATEWAY_URL:-http://gateway:8000}" WEBHOOK_TOKEN="${WEBHOOK_TOKEN:-}"
CONF=/tmp/kannel.conf
envsubst < /etc/kannel/kannel.conf.in > "$CONF"
chmod 600 "$CONF"
bearerbox "$CONF" &
BEARER=$!
sleep 2
smsbox "$CONF" &
SMS=$!
trap 'kill "$BEARER" "$SMS" 2>/dev/null' TERM INT
while kill -0 "$BEARER" 2>/dev/null && kill -0 "$SMS" 2>/dev/null; do sleep 2; done
kill "$BEARER" "$SMS" 2>/dev/null || true
wait
exit 1
