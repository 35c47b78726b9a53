#!/bin/sh
# The temporal-create-namespace job: the namespace, then the search attributes the workflows
# upsert (SEARCH_ATTRIBUTES: "Name=Type ...", search_attributes.ATTRIBUTES). Safe to repeat: an
# existing namespace is kept, and creating an attribute that exists with the same type is a
# no-op; one that exists with another type fails the job, which is what should happen.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}" "${SEARCH_ATTRIBUTES:?}"
RETENTION="${TEMPORAL_RETENTION:-30d}"
ATTEMPTS="${TEMPORAL_WAIT_ATTEMPTS:-60}"

attempt=1
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  if [ "$attempt" -ge "$ATTEMPTS" ]; then
    echo "Temporal at $TEMPORAL_ADDRESS is not serving after $ATTEMPTS attempts" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 2
done

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" \
    --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $TEMPORAL_NAMESPACE exists"
else
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" \
    --namespace "$TEMPORAL_NAMESPACE" --retention "$RETENTION"
fi

for pair in $SEARCH_ATTRIBUTES; do
  name="${pair%%=*}"
  type="${pair#*=}"
  temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" \
    --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type "$type"
done
echo "namespace $TEMPORAL_NAMESPACE ready with: $SEARCH_ATTRIBUTES"
