#!/bin/sh
# The temporal-create-namespace job: the namespace, then the search attributes the workflows
# upsert (SEARCH_ATTRIBUTES: "Name=Type ...", models/search_attributes.ATTRIBUTES). Safe to repeat: an
# existing namespace is kept, and creating an attribute that exists with the same type is a
# no-op; one that exists with another type fails the job, which is what should happen.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}" "${SEARCH_ATTRIBUTES:?}"
RETENTION="${TEMPORAL_RETENTION:-30d}"
ATTEMPTS="${TEMPORAL_WAIT_ATTEMPTS:-60}"

# Retries a command while the server is not ready for it: the frontend answers before the
# cluster is ready, and a new namespace reaches the frontend's cache a few seconds later
# ("Namespace ... is not found"). The last failure's message is shown.
retry() {
  attempt=1
  until output=$("$@" 2>&1); do
    case "$output" in *"different type"*) attempt="$ATTEMPTS" ;; esac  # never succeeds
    if [ "$attempt" -ge "$ATTEMPTS" ]; then
      echo "$output" >&2
      echo "failed $ATTEMPTS times: $*" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    sleep 2
  done
  [ -z "$output" ] || echo "$output"
}

retry temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" \
    --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $TEMPORAL_NAMESPACE exists"
else
  retry temporal operator namespace create --address "$TEMPORAL_ADDRESS" \
    --namespace "$TEMPORAL_NAMESPACE" --retention "$RETENTION"
fi

for pair in $SEARCH_ATTRIBUTES; do
  name="${pair%%=*}"
  type="${pair#*=}"
  retry temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" \
    --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type "$type"
done
echo "namespace $TEMPORAL_NAMESPACE ready with: $SEARCH_ATTRIBUTES"
