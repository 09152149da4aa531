#!/usr/bin/env bash
# The batch VM's startup script (instance metadata `startup-script`, or `startup-script-url`).
#
# triggerRun writes the run keys into the VM's metadata and starts it; on that boot this
# script reads them, checks them again with the same patterns as the function, fetches the
# run's own source (`costguard-run-source`, `gs://BUCKET/src/NAME.tar.gz#GENERATION`: exactly
# that generation, so a later upload cannot change the run's code) or else the pipeline's source
# tarball (metadata `costguard-source`, set once when the VM is set up), runs
# `make -- TARGET` into build.log until the run's deadline, uploads outputs, build.log and a
# marker (`_SUCCESS` or `startup_error.txt`) to gs://BUCKET/results/RUN_ID/ (the bucket of the
# source), and shuts the VM down. The run keys stay in the metadata until triggerRun sees the
# run end and removes them, so the script never writes to Compute: each run it begins is
# recorded on the VM's disk first, and a later boot with the same keys (a reboot, a repeated
# start) powers off without running it again. A boot without run keys does nothing and leaves
# the VM up (for maintenance).
#
# Phases are timed: a `[timer] PHASE SECONDSs` line each for fetch, apt (when the source has
# apt-packages.txt), pip (when it has requirements.txt; make then runs in that virtualenv),
# make, upload and total, also uploaded as timings.json. Every `costguard-telemetry-interval`
# seconds (default 60, 0 for none) `[vmstat]` and `[mpstat]` lines summarise the interval. The
# console (serial port 1) gets the script's own lines; startup_detail.log gets those plus the
# verbose apt and pip output.
# A run of a pipeline with `resume` may take several attempts: after a Spot preemption
# triggerRun writes the run keys again with `costguard-attempt` (2, 3, ...) and starts the VM.
# make sees COSTGUARD_ATTEMPT and COSTGUARD_CHECKPOINT_PREFIX (gs://BUCKET/runs/RUN_ID/checkpoint/,
# the same for every attempt) to save and resume its work; each attempt's build log is kept at
# attempts/N/build.log under the results prefix. An attempt cut short by a preemption (the
# metadata server's instance/preempted is TRUE) leaves no marker, so the run is resumed, not failed.
#
# The VM's service account needs storage object read on the source and create on the results
# prefix, and nothing in Compute.
#
# Environment (for tests; unset on a VM): COSTGUARD_METADATA_HOST (default
# metadata.google.internal), COSTGUARD_WORKDIR (default /var/lib/costguard).
set -euo pipefail

readonly METADATA_HOST="${COSTGUARD_METADATA_HOST:-metadata.google.internal}"
readonly WORK_ROOT="${COSTGUARD_WORKDIR:-/var/lib/costguard}"
# The same patterns as functions/runs/run-id.ts: nothing else is ever run or written.
readonly RUN_ID_PATTERN='^run-[0-9a-f]{20}$'
readonly TARGET_PATTERN='^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'
readonly PREFIX_PATTERN='^gs://[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]/results/run-[0-9a-f]{20}/$'
readonly SOURCE_PATTERN='^gs://[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]/[A-Za-z0-9._/-]{1,900}\.(tar\.gz|tgz)$'
readonly DEADLINE_PATTERN='^[0-9]{10}$'
readonly ATTEMPT_PATTERN='^[1-9][0-9]?$'
readonly INTERVAL_PATTERN='^[0-9]{1,4}$'
readonly APT_PACKAGE_PATTERN='^[a-z0-9][a-z0-9+.-]{0,99}$'
readonly RUN_SOURCE_PATTERN='^gs://[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]/src/([A-Za-z0-9._-]+/){0,8}[A-Za-z0-9._-]{1,200}\.(tar\.gz|tgz)#[0-9]{1,20}$'
# The runs begun on this VM, one `RUN_ID CLAIM_TIME ATTEMPT` a line: a run claimed again, or its
# next attempt after a preemption, runs again.
readonly BEGUN_FILE="${WORK_ROOT}/begun"
# A run never lasts longer than 7 days (Compute's maxRunDuration limit), deadline or not.
readonly LONGEST_RUN_SECONDS=604800

RUN_ID=''
ATTEMPT=1
TARGET=''
RESULTS_PREFIX=''
PREFIX_OK=''
SUCCEEDED=''
STEP='reading the run keys'
ERROR=''
WORK=''
BUILD_LOG=''
DETAIL_LOG=''
TELEMETRY_PIDS=()
TIMINGS=()
RUN_STARTED=$SECONDS
UPLOAD_STARTED=''

log() {
  local line
  line="$(date -u +%Y-%m-%dT%H:%M:%SZ) [costguard] $*"
  printf '%s\n' "$line" >&2
  if [[ -n "$DETAIL_LOG" ]]; then printf '%s\n' "$line" >>"$DETAIL_LOG"; fi
}

# timed PHASE COMMAND...: runs the command and prints `[timer] PHASE Ns` however it ends.
timed() {
  local phase=$1 started=$SECONDS status=0
  shift
  "$@" || status=$?
  timer "$phase" $((SECONDS - started))
  return "$status"
}

timer() {
  TIMINGS+=("\"$1\":$2")
  log "[timer] $1 $2s"
}

# sample TOOL: one summary line of the last TELEMETRY_INTERVAL seconds, forever.
sample() {
  local interval=$1 tool=$2 line
  while :; do
    case "$tool" in
      vmstat) line="$({ vmstat -n "$interval" 2 | tail -n 1 | tr -s ' '; } 2>/dev/null)" ;;
      mpstat) line="$({ mpstat "$interval" 1 | awk '/^Average:/ && $2 == "all"' | tr -s ' '; } 2>/dev/null)" ;;
    esac
    [[ -n "$line" ]] && log "[$tool] ${line# }"
  done
}

start_telemetry() {
  local interval=$1 tool
  ((interval > 0)) || return 0
  log "telemetry every ${interval}s"
  if command -v vmstat >/dev/null; then log "[vmstat] $(vmstat -n 1 1 | sed -n 2p | tr -s ' ' | sed 's/^ //')"; fi
  for tool in vmstat mpstat; do
    if command -v "$tool" >/dev/null; then
      sample "$interval" "$tool" &
      TELEMETRY_PIDS+=($!)
    else
      log "no $tool on this VM; no [$tool] lines"
    fi
  done
}

# kill_tree PID: the process and everything it started (a sampler and its vmstat).
kill_tree() {
  local child
  for child in $(pgrep -P "$1"); do kill_tree "$child"; done
  kill "$1" 2>/dev/null
}

stop_telemetry() {
  local pid
  for pid in "${TELEMETRY_PIDS[@]}"; do kill_tree "$pid"; done
  TELEMETRY_PIDS=()
}

# The seed runbook's package recovery: a broken apt state is repaired once and tried again.
install_apt_packages() {
  local list=$1 packages=() name
  while IFS= read -r name || [[ -n "$name" ]]; do
    name="${name%%#*}"
    name="${name//[[:space:]]/}"
    [[ -z "$name" ]] && continue
    [[ "$name" =~ $APT_PACKAGE_PATTERN ]] || fail "apt-packages.txt names something that is not a package: $name"
    packages+=("$name")
  done <"$list"
  ((${#packages[@]} > 0)) || return 0
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get update >>"$DETAIL_LOG" 2>&1; then
    log 'apt-get update failed; clearing the package lists and trying again'
    rm -rf /var/lib/apt/lists/*
    apt-get update >>"$DETAIL_LOG" 2>&1 || fail 'apt-get update failed twice'
  fi
  apt-get install -y --fix-broken >>"$DETAIL_LOG" 2>&1 || true
  apt-get install -y --no-install-recommends -- "${packages[@]}" >>"$DETAIL_LOG" 2>&1 ||
    apt-get install -y --no-install-recommends -- "${packages[@]}" >>"$DETAIL_LOG" 2>&1 ||
    fail 'the packages of apt-packages.txt could not be installed'
}

install_requirements() {
  python3 -m venv "$WORK/venv" >>"$DETAIL_LOG" 2>&1 || fail 'python3 -m venv failed'
  "$WORK/venv/bin/pip" install --no-input -r "$WORK/src/requirements.txt" >>"$DETAIL_LOG" 2>&1 ||
    fail 'pip install -r requirements.txt failed'
  export PATH="$WORK/venv/bin:$PATH" VIRTUAL_ENV="$WORK/venv"
}

# fail MESSAGE: stop the run; the EXIT trap records MESSAGE in startup_error.txt.
fail() {
  ERROR="$*"
  log "error: $ERROR"
  exit 1
}

# metadata PATH: a value from the metadata server; a missing value is an error.
metadata() {
  curl --silent --show-error --fail --max-time 10 \
    -H 'Metadata-Flavor: Google' "http://${METADATA_HOST}/computeMetadata/v1/$1"
}

# attribute KEY: the instance attribute; status 1 when the VM has none by that key, 2 when the
# metadata server cannot say.
attribute() {
  local body status
  body="$(mktemp)"
  status="$(curl --silent --max-time 10 --retry 5 --retry-connrefused --output "$body" \
    --write-out '%{http_code}' -H 'Metadata-Flavor: Google' \
    "http://${METADATA_HOST}/computeMetadata/v1/instance/attributes/$1" || true)"
  case "$status" in
    200) cat "$body" && rm -f "$body" ;;
    404) rm -f "$body" && return 1 ;;
    *)
      rm -f "$body"
      log "the metadata server answered ${status:-nothing} for attribute $1"
      return 2
      ;;
  esac
}

upload() {
  gsutil -q cp "$1" "${RESULTS_PREFIX}$2"
}

# Whether Compute is preempting this VM (its shutdown then ends the run, not a failure).
preempted() {
  [[ "$(metadata instance/preempted 2>/dev/null || true)" == TRUE ]]
}

# Runs on every exit once a run has begun: upload what there is, then power off.
finish() {
  local code=$?
  trap - EXIT
  set +e
  stop_telemetry
  if [[ -n "$PREFIX_OK" ]]; then
    if [[ -f "$BUILD_LOG" ]]; then
      upload "$BUILD_LOG" "attempts/${ATTEMPT}/build.log"
      upload "$BUILD_LOG" build.log
    fi
    timer upload $((SECONDS - ${UPLOAD_STARTED:-$SECONDS}))
    timer total $((SECONDS - RUN_STARTED))
    (
      IFS=,
      printf '{%s}\n' "${TIMINGS[*]}"
    ) >"$WORK/timings.json"
    upload "$WORK/timings.json" timings.json
    upload "$DETAIL_LOG" startup_detail.log
    if [[ -z "$SUCCEEDED" ]] && preempted; then
      log "run $RUN_ID attempt $ATTEMPT preempted; no marker, so the run can be resumed"
    elif [[ -n "$SUCCEEDED" ]]; then
      : >"$WORK/_SUCCESS"
      upload "$WORK/_SUCCESS" _SUCCESS
    else
      # The step, the exit code and the script's own reason only: this file reaches the caller,
      # the ledger and Slack, and whatever the build printed (a token, say) stays in build.log.
      {
        printf 'run %s target %s failed while %s (exit code %s)\n' "$RUN_ID" "$TARGET" "$STEP" "$code"
        [[ -n "$ERROR" ]] && printf '%s\n' "$ERROR"
      } >"$WORK/startup_error.txt"
      upload "$WORK/startup_error.txt" startup_error.txt
    fi
  else
    log 'the results prefix is not valid or not in the source bucket; nothing uploaded'
  fi
  log "run ${RUN_ID:-?} finished with exit code $code; shutting down"
  shutdown -h now
}

# Both run where `set -e` does not apply (under `timed`), hence the explicit `&&`.
fetch_source() {
  gsutil -q cp "$1" "$WORK/source.tar.gz" && tar -xzf "$WORK/source.tar.gz" -C "$WORK/src"
}

run_make() {
  timeout --kill-after=60 "$1" make -C "$WORK/src" -- "$TARGET" >"$BUILD_LOG" 2>&1
}

main() {
  local found=0 claim begun
  RUN_ID="$(attribute costguard-run-id)" || found=$?
  if [[ $found -eq 1 ]]; then
    log 'no run requested (no costguard-run-id); leaving the VM up'
    exit 0
  fi
  if [[ $found -eq 0 ]]; then
    claim="$(attribute costguard-claim || true)"
    read -r _ claim _ <<<"$claim" || true
    # A resumed run keeps its claim and is told apart by its attempt.
    begun="$RUN_ID ${claim:-} $(attribute costguard-attempt || echo 1)"
    mkdir -p "$WORK_ROOT"
    if [[ -f "$BEGUN_FILE" ]] && grep -qxF -- "$begun" "$BEGUN_FILE"; then
      log 'this run began on an earlier boot; not running it again; shutting down'
      shutdown -h now
      exit 0
    fi
    printf '%s\n' "$begun" >>"$BEGUN_FILE"
  fi
  # From here on the VM was started for a run: whatever happens, it uploads what it has and
  # powers off, so it never idles at the run's expense.
  WORK="${WORK_ROOT}/${RUN_ID//[^a-z0-9-]/_}"
  BUILD_LOG="$WORK/build.log"
  mkdir -p "$WORK"
  DETAIL_LOG="$WORK/startup_detail.log"
  : >"$DETAIL_LOG"
  trap finish EXIT
  [[ $found -eq 0 ]] || fail 'the run id could not be read from the metadata server'

  TARGET="$(attribute costguard-target || true)"
  RESULTS_PREFIX="$(attribute costguard-results-prefix || true)"
  local source run_source bucket deadline seconds status interval checked_at attempt
  source="$(attribute costguard-source || true)"
  run_source="$(attribute costguard-run-source || true)"
  deadline="$(attribute costguard-deadline || true)"
  interval="$(attribute costguard-telemetry-interval || true)"
  attempt="$(attribute costguard-attempt || true)"
  # Results go only to the pipeline's bucket, the one its source was set up in.
  bucket="${RESULTS_PREFIX#gs://}"
  bucket="${bucket%%/*}"
  [[ -z "$run_source" ]] || source="$run_source"
  if [[ "$RESULTS_PREFIX" =~ $PREFIX_PATTERN && "$RUN_ID" =~ $RUN_ID_PATTERN &&
    "$RESULTS_PREFIX" == */results/"$RUN_ID"/ && "$source" == "gs://${bucket}/"* ]]; then
    PREFIX_OK=1
  fi

  STEP='checking the run keys'
  [[ -n "$PREFIX_OK" ]] ||
    fail 'the run id or results prefix does not match the allowed pattern or the source bucket'
  [[ "$TARGET" =~ $TARGET_PATTERN ]] || fail 'the target does not match the allowed pattern'
  if [[ -n "$run_source" ]]; then
    [[ "$run_source" =~ $RUN_SOURCE_PATTERN && "$run_source" == "gs://${bucket}/src/"* &&
      "/${run_source%#*}/" != */../* && "/${run_source%#*}/" != */./* ]] ||
      fail 'costguard-run-source is not a tarball of gs://BUCKET/src/ pinned to a generation'
  else
    [[ "$source" =~ $SOURCE_PATTERN ]] || fail 'costguard-source is not a gs:// tarball'
  fi
  if [[ -n "$attempt" ]]; then
    [[ "$attempt" =~ $ATTEMPT_PATTERN ]] || fail 'the attempt is not a number from 1 to 99'
    ATTEMPT=$attempt
  fi
  seconds=$LONGEST_RUN_SECONDS
  if [[ -n "$deadline" ]]; then
    [[ "$deadline" =~ $DEADLINE_PATTERN ]] || fail 'the run deadline is not a time in seconds'
    seconds=$((deadline - $(date +%s)))
    ((seconds > 0)) || fail 'the run deadline has passed'
    ((seconds <= LONGEST_RUN_SECONDS)) || seconds=$LONGEST_RUN_SECONDS
  fi

  checked_at=$SECONDS
  [[ -z "$interval" || "$interval" =~ $INTERVAL_PATTERN ]] ||
    fail 'the telemetry interval is not a number of seconds'
  start_telemetry "$((10#${interval:-60}))"

  STEP='fetching the source'
  log "run $RUN_ID: fetching $source"
  rm -rf "$WORK/src" "$WORK/output"
  mkdir -p "$WORK/src" "$WORK/output"
  timed fetch fetch_source "$source"

  if [[ -f "$WORK/src/apt-packages.txt" ]]; then
    STEP='installing apt-packages.txt'
    log "run $RUN_ID: installing the packages of apt-packages.txt"
    timed apt install_apt_packages "$WORK/src/apt-packages.txt"
  fi
  if [[ -f "$WORK/src/requirements.txt" ]]; then
    STEP='installing requirements.txt'
    log "run $RUN_ID: pip install -r requirements.txt"
    timed pip install_requirements
  fi

  STEP="running make -- $TARGET"
  log "run $RUN_ID attempt $ATTEMPT: make -- $TARGET"
  export COSTGUARD_RUN_ID="$RUN_ID" COSTGUARD_OUTPUT_DIR="$WORK/output" COSTGUARD_ATTEMPT="$ATTEMPT"
  # Checkpoints outlive an attempt: in the results bucket, outside the run's results prefix.
  export COSTGUARD_CHECKPOINT_PREFIX="gs://${bucket}/runs/${RUN_ID}/checkpoint/"
  # The deadline holds on the VM too, whether or not Compute could set maxRunDuration.
  status=0
  # What is left of the run's time once the source and its dependencies are in place.
  seconds=$((seconds - (SECONDS - checked_at)))
  ((seconds > 0)) || fail "make -- $TARGET passed the run deadline"
  timed make run_make "$seconds" || status=$?
  ((status != 124)) || fail "make -- $TARGET passed the run deadline"
  ((status == 0)) || fail "make -- $TARGET exited with status $status"

  STEP='uploading the outputs'
  UPLOAD_STARTED=$SECONDS
  if [[ -n "$(find "$WORK/output" -mindepth 1 -print -quit)" ]]; then
    # -e: symbolic links are skipped, so an output cannot point the upload at a file elsewhere.
    gsutil -q -m rsync -r -e "$WORK/output" "${RESULTS_PREFIX}output"
  fi
  SUCCEEDED=1
}

main "$@"
