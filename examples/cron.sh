#!/bin/sh
# Daily scan from cron that only shouts about what changed since the last scan.
#
#   17 3 * * *  /opt/auditor/cron.sh 2>&1 | mail -E -s "AWS posture: new findings" security@example.com
#
# `mail -E` sends nothing when the output is empty; this script prints only when something changed or broke.
# Credentials: an instance profile / ECS task role, or AWS_PROFILE pointing at a read-only audit role.
set -eu

STATE=${AUDITOR_STATE:-/var/lib/auditor}       # keeps the last good JSON report as the baseline
PROFILE=${AUDITOR_PROFILE:-audit}
CONFIG=${AUDITOR_CONFIG:-/etc/auditor/auditor.toml}
WAIVERS=${AUDITOR_WAIVERS:-/etc/auditor/waivers.toml}
OUT="$STATE/run-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$STATE"

baseline=""
[ -f "$STATE/baseline.json" ] && baseline="--baseline $STATE/baseline.json --fail-on-new"

# Exit codes: 0 nothing new, 1 new failures, 2 usage/config error, 3 scan incomplete (missing permissions).
set +e
# shellcheck disable=SC2086  # $baseline is two options or nothing
auditor scan --profile "$PROFILE" --config "$CONFIG" --waivers "$WAIVERS" \
  --format json,html --output-dir "$OUT" --quiet $baseline
rc=$?
set -e

if [ -f "$STATE/baseline.json" ] && [ -f "$OUT/report.json" ]; then
  changes=$(auditor diff "$STATE/baseline.json" "$OUT/report.json" || true)
  # Line 2 is the tally, e.g. "0 new, 0 fixed, 12 persisting failures; 0 new gaps": stay quiet when nothing moved.
  case $(echo "$changes" | sed -n 2p) in
    "0 new, 0 fixed, "*"; 0 new gaps") ;;
    *) printf '%s\n\nHTML scorecard: %s\n' "$changes" "$OUT/report.html" ;;
  esac
fi

case $rc in
  0|1) cp "$OUT/report.json" "$STATE/baseline.json.tmp" && mv "$STATE/baseline.json.tmp" "$STATE/baseline.json" ;;
  3) echo "auditor: scan incomplete (some reads were denied); the baseline was kept. See $OUT/report.html#not-assessed" ;;
  *) echo "auditor: scan failed with exit code $rc; the baseline was kept" ;;
esac

# Keep two weeks of reports.
find "$STATE" -maxdepth 1 -type d -name 'run-*' -mtime +14 -exec rm -rf {} +
exit "$rc"
